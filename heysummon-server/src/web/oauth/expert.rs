//! Who an identity signs in as: the expert its (provider, subject) is linked to; else, the
//! first time, the expert an allow-list rule gives one of its verified e-mail addresses (and
//! the identity is linked, so later sign-ins go by the subject, whatever the address becomes);
//! else nobody.

use super::{Failed, Identity};
use crate::state::AppState;
use crate::store::StoreError;

/// The expert an identity of `provider` signs in as.
pub(super) async fn resolve(
    state: &AppState,
    provider: &str,
    identity: &Identity,
) -> Result<String, Failed> {
    let store_failed = |error: StoreError| Failed::new(format!("store: {error}"));
    let linked = state
        .store
        .expert_for_identity(provider, &identity.subject)
        .await
        .map_err(store_failed)?;
    let expert_id = match linked {
        Some(expert_id) => expert_id,
        None => link_by_email(state, provider, identity).await?,
    };
    let active = state
        .store
        .expert(&expert_id)
        .await
        .map_err(store_failed)?
        .is_some_and(|expert| expert.is_active);
    if active {
        Ok(expert_id)
    } else {
        Err(Failed::not_linked(format!(
            "the identity's expert {expert_id} is deactivated or gone"
        )))
    }
}

/// Links an identity by an allow-listed verified address; the expert.
async fn link_by_email(
    state: &AppState,
    provider: &str,
    identity: &Identity,
) -> Result<String, Failed> {
    let Some(expert_id) = identity
        .verified_emails
        .iter()
        .find_map(|email| state.config.auth.allowed_expert(provider, email))
    else {
        return Err(Failed::not_linked(if identity.verified_emails.is_empty() {
            "the identity is not linked and the provider vouches for no e-mail address"
        } else {
            "the identity is not linked and none of its verified e-mail addresses is allowed"
        }));
    };
    if state
        .store
        .expert(expert_id)
        .await
        .map_err(|error| Failed::new(format!("store: {error}")))?
        .is_none()
    {
        return Err(Failed::not_linked(format!(
            "the allow-list names expert {expert_id}, which does not exist"
        )));
    }
    let now = state.clock.now();
    match state
        .store
        .link_identity(provider, &identity.subject, expert_id, now)
        .await
    {
        Ok(()) => {
            tracing::info!(
                provider,
                subject = %identity.subject,
                expert = %expert_id,
                "linked a sign-in identity by an allow-listed verified e-mail address"
            );
            Ok(expert_id.to_owned())
        }
        // Linked meanwhile (two sign-ins at once): the link that won counts.
        Err(StoreError::UniqueViolation { .. }) => state
            .store
            .expert_for_identity(provider, &identity.subject)
            .await
            .map_err(|error| Failed::new(format!("store: {error}")))?
            .ok_or_else(|| Failed::new("the identity's link vanished")),
        Err(error) => Err(Failed::new(format!("store: {error}"))),
    }
}

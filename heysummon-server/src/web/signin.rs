//! Signing in and out (PROTOCOL E2): one-time sign-in links made by the command line, the
//! end of every sign-in (a session cookie, then the dashboard), and logout.
//!
//! A link is `{base}/signin#{token}`: the token travels in the fragment, which browsers never
//! send, so it appears in no access log, proxy or `Referer`. The dashboard reads it and posts
//! it to `POST /auth/link` (JSON only, so no cross-site form can sign a browser in as someone
//! else), which uses it up and starts the session.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::session::{SessionToken, clear_cookie};
use crate::app::openapi::Failure;
use crate::clock::{Millis, timestamp};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::ids::hash_secret;
use crate::state::AppState;
use crate::store::{NewLoginLink, Store, StoreError};

/// How long a sign-in link is valid.
pub const LOGIN_LINK_TTL_MS: Millis = 15 * 60 * 1000;

/// A one-time sign-in link, as `expert login-link --json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginLink {
    /// Open it in a browser to sign in.
    pub url: String,
    /// When it stops working (RFC 3339).
    pub expires_at: heysummon_sdk::wire::Timestamp,
}

impl std::fmt::Debug for LoginLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLink")
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Makes a one-time sign-in link for an expert, valid once for 15 minutes, under `base`
/// (the server's public URL). `Ok(None)` when there is no such expert.
pub async fn create_login_link(
    store: &Store,
    expert_id: &str,
    base: &str,
    now: Millis,
) -> Result<Option<LoginLink>, StoreError> {
    if store.expert(expert_id).await?.is_none() {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let expires_at = now.saturating_add(LOGIN_LINK_TTL_MS);
    store
        .insert_login_link(NewLoginLink {
            token_hash: hash_secret(&token),
            expert_id: expert_id.to_owned(),
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(Some(LoginLink {
        url: format!("{}/signin#{token}", base.trim_end_matches('/')),
        expires_at: timestamp(expires_at),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkBody {
    /// The 64 hex digits of the sign-in link.
    token: String,
}

/// The expert a sign-in answers with.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SignedInBody<'a> {
    expert: ExpertRef<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExpertRef<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
}

/// `POST /auth/link` `{"token"}`: uses up a sign-in link and starts a session.
#[utoipa::path(post, path = "/auth/link", tag = "sign-in", security(()), request_body = LinkBody,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SignedInBody<'_>),
        Failure,
    ),
)]
pub(crate) async fn use_link(
    State(state): State<AppState>,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let body: LinkBody = req.json()?;
    let refused = || {
        ApiError::unauthorized("This sign-in link is not valid: it was used already or has expired")
            .code("LINK_INVALID")
    };
    if body.token.len() != 64 {
        return Err(refused());
    }
    let expert_id = state
        .store
        .consume_login_link(hash_secret(&body.token), state.clock.now())
        .await?
        .ok_or_else(refused)?;
    let expert = state
        .store
        .expert(&expert_id)
        .await?
        .filter(|expert| expert.is_active)
        .ok_or_else(refused)?;
    let token = state
        .begin_session(&expert.id, "link", req.header(header::USER_AGENT.as_str()))
        .await?;
    tracing::info!(expert = %expert.id, "signed in with a one-time link");
    let body = SignedInBody {
        expert: ExpertRef {
            id: &expert.id,
            name: &expert.name,
        },
    };
    Ok((
        [(header::SET_COOKIE, token.set_cookie(state.secure_cookies()))],
        axum::Json(body),
    )
        .into_response())
}

/// The end of every interactive sign-in (a provider's callback): a session for the expert,
/// then the dashboard.
pub(crate) async fn complete(
    state: &AppState,
    expert_id: &str,
    provider: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let token: SessionToken = state.begin_session(expert_id, provider, user_agent).await?;
    Ok((
        [(header::SET_COOKIE, token.set_cookie(state.secure_cookies()))],
        Redirect::to("/"),
    )
        .into_response())
}

/// `POST /auth/logout`: ends this session (server-side) and clears the cookie. Needs the CSRF
/// token; without a valid session it changes nothing, not even the cookie (a cross-site form
/// cannot sign anybody out).
#[utoipa::path(post, path = "/auth/logout", tag = "sign-in", security((), ("session" = [])),
    params(("x-csrf-token" = Option<String>, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "Whether a session was ended", body = SignedOut),
        Failure,
    ),
)]
pub(crate) async fn logout(State(state): State<AppState>, req: ApiRequest) -> ApiResult<Response> {
    let Some(signed_in) = state.session(&req.headers).await.ok().flatten() else {
        return Ok(axum::Json(SignedOut { signed_out: false }).into_response());
    };
    signed_in.check_csrf(&req.method, &req.headers)?;
    state.store.delete_session(signed_in.token_hash()).await?;
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, clear_cookie(state.secure_cookies()))],
        axum::Json(SignedOut { signed_out: true }),
    )
        .into_response())
}

/// Whether `POST /auth/logout` ended a session.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignedOut {
    signed_out: bool,
}

//! A sign-in in progress, bound to the browser that began it.
//!
//! `GET /auth/login/{provider}` draws a 256-bit flow secret and hands it to the browser in the
//! cookie `hs_oauth` (HttpOnly, SameSite=Lax, `Secure` over https, path
//! `/auth/callback/{provider}`, 10 minutes). The `state`, the PKCE verifier and the OpenID
//! Connect `nonce` are HMAC-SHA256 values of that secret, one label each, so:
//! - the callback recomputes them from the cookie: a `state` from another browser (a login
//!   CSRF, an injected authorization code) does not match, and without the cookie there is no
//!   verifier to redeem the code with;
//! - the store keeps a row per sign-in holding only the hash of the `state` (no verifier, no
//!   nonce), deleted by the first callback that presents it: used once, expiring after
//!   10 minutes, surviving a restart and shared by every server instance on the database.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Failed;
use crate::clock::Millis;
use crate::ids::hash_secret;
use crate::state::AppState;
use crate::store::SignInFlow;
use crate::web::cookies;

/// The cookie holding the flow secret.
pub(super) const COOKIE: &str = "hs_oauth";
/// How long a sign-in may take, from the redirect to the provider to its callback.
pub(super) const FLOW_TTL_MS: Millis = 10 * 60 * 1000;

/// The browser's secret of one sign-in. `Debug` never shows it.
pub(super) struct FlowSecret([u8; 32]);

impl std::fmt::Debug for FlowSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowSecret([redacted])")
    }
}

/// What a flow secret gives for one provider. `Debug` never shows the values.
pub(super) struct FlowValues {
    /// Sent to the provider and back.
    pub(super) state: String,
    /// PKCE: its S256 challenge goes to the provider, itself to the token endpoint.
    pub(super) verifier: String,
    /// OpenID Connect: goes to the provider and must come back in the ID token.
    pub(super) nonce: String,
}

impl std::fmt::Debug for FlowValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowValues([redacted])")
    }
}

impl FlowSecret {
    /// 256 fresh random bits.
    pub(super) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret a callback's `Cookie` headers carry, if any.
    pub(super) fn presented(headers: &HeaderMap) -> Option<Self> {
        let value = cookies::values(headers, COOKIE).into_iter().next()?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The `Set-Cookie` value handing the secret to the browser.
    pub(super) fn set_cookie(&self, provider: &str, secure: bool) -> HeaderValue {
        let path = callback_path(provider);
        cookies::set(COOKIE, hex::encode(self.0), path, FLOW_TTL_MS, secure)
    }

    /// The state, verifier and nonce of this sign-in with `provider`.
    pub(super) fn values(&self, provider: &str) -> FlowValues {
        FlowValues {
            state: self.derive("state", provider),
            verifier: self.derive("pkce-verifier", provider),
            nonce: self.derive("nonce", provider),
        }
    }

    /// HMAC-SHA256(secret, "heysummon-oauth-v1" 0 label 0 provider), base64url without
    /// padding: 43 characters, a valid PKCE verifier too.
    fn derive(&self, label: &str, provider: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes a key of any length.
            Err(_) => return String::new(),
        };
        for part in [
            b"heysummon-oauth-v1".as_slice(),
            label.as_bytes(),
            provider.as_bytes(),
        ] {
            mac.update(part);
            mac.update(&[0]);
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// The `Set-Cookie` value removing the flow cookie of a provider.
pub(super) fn clear_cookie(provider: &str, secure: bool) -> HeaderValue {
    cookies::clear(COOKIE, callback_path(provider), secure)
}

/// The flow cookie is sent only to its provider's callback.
fn callback_path(provider: &str) -> String {
    format!("/auth/callback/{provider}")
}

/// Records a sign-in that begins now.
pub(super) async fn begin(
    state: &AppState,
    provider: &str,
    values: &FlowValues,
) -> Result<(), crate::store::StoreError> {
    let now = state.clock.now();
    state
        .store
        .insert_sign_in_flow(SignInFlow {
            state_hash: hash_secret(&values.state),
            provider: provider.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(FLOW_TTL_MS),
        })
        .await
}

/// Checks a callback's `state` against the browser's flow secret (in constant time) and uses
/// up the sign-in it names: the values to finish it with.
pub(super) async fn finish(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    presented_state: Option<&str>,
) -> Result<FlowValues, Failed> {
    let secret = FlowSecret::presented(headers)
        .ok_or_else(|| Failed::new("no sign-in in progress in this browser (no flow cookie)"))?;
    let values = secret.values(provider);
    let presented = presented_state.ok_or_else(|| Failed::new("the callback has no state"))?;
    if !bool::from(presented.as_bytes().ct_eq(values.state.as_bytes())) {
        return Err(Failed::new(
            "the state is not the one of this browser's sign-in",
        ));
    }
    let flow = state
        .store
        .take_sign_in_flow(hash_secret(&values.state))
        .await
        .map_err(|error| Failed::new(format!("store: {error}")))?
        .ok_or_else(|| Failed::new("the sign-in was used already or has been pruned"))?;
    if flow.provider != provider {
        return Err(Failed::new("the sign-in began with another provider"));
    }
    if state.clock.now() >= flow.expires_at {
        return Err(Failed::new("the sign-in took longer than 10 minutes"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_per_label_and_provider_and_valid_pkce_verifiers() {
        let secret = FlowSecret::generate();
        let github = secret.values("github");
        let oidc = secret.values("oidc");
        assert_ne!(github.state, github.verifier);
        assert_ne!(github.state, github.nonce);
        assert_ne!(github.state, oidc.state);
        assert_eq!(github.verifier.len(), 43);
        assert!(
            github
                .verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(secret.values("github").state, github.state, "deterministic");
        assert!(!format!("{secret:?}{github:?}").contains(&github.state));
    }

    #[test]
    fn the_cookie_round_trips_and_is_scoped_to_the_callback() {
        let secret = FlowSecret::generate();
        let set = secret.set_cookie("oidc", true);
        let text = set.to_str().unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/auth/callback/oidc",
            "Max-Age=600",
        ] {
            assert!(text.contains(attribute), "{attribute} in {text}");
        }
        let pair = text.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {pair}")).unwrap(),
        );
        let back = FlowSecret::presented(&headers).unwrap();
        assert_eq!(back.values("oidc").state, secret.values("oidc").state);
        assert!(
            clear_cookie("oidc", false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}

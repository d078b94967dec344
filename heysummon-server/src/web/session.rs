//! Sessions of the dashboard (PROTOCOL E2): a cookie `hs_session` holding 256 random bits,
//! stored only as a hash; an idle timeout of 12 h and an absolute one of 7 days; a CSRF token
//! derived from the session token (so nothing more is stored), required on every
//! state-changing request made with the session.

use axum::http::{HeaderMap, HeaderValue, Method};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::cookies;
use crate::audit::{Actor, AuditKind, AuditNote};
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::ids::{hash_secret, new_id};
use crate::state::AppState;
use crate::store::{ExpertRecord, KeyHash, NewSession, SessionRecord, StoreError};

/// The session cookie.
pub(crate) const COOKIE: &str = "hs_session";
/// The header carrying the CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends this long after it began, however active.
pub(crate) const ABSOLUTE_MS: Millis = 7 * 24 * 3600 * 1000;
/// `last_seen_at` is written at most this often.
const TOUCH_EVERY_MS: Millis = 60 * 1000;
/// The longest `User-Agent` kept for the session list.
const USER_AGENT_CHARS: usize = 200;

/// A session's secret token (what the cookie holds). `Debug` never shows it.
pub(crate) struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

impl SessionToken {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// The `Set-Cookie` value starting the session in the browser.
    pub(crate) fn set_cookie(&self, secure: bool) -> HeaderValue {
        cookies::set(COOKIE, self.0.clone(), "/".into(), ABSOLUTE_MS, secure)
    }
}

/// The `Set-Cookie` value removing the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> HeaderValue {
    cookies::clear(COOKIE, "/".into(), secure)
}

/// The CSRF token of a session: derived from its secret token, so it is known to whoever
/// holds the cookie's value and to nobody else, and reveals nothing of it.
fn csrf_token(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"heysummon-csrf-v1:");
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// The session hash of a stream authenticated by the dashboard's session: present when the
/// request carries no key and exactly one session cookie.
pub(crate) fn stream_session(headers: &HeaderMap, has_key: bool) -> Option<KeyHash> {
    match cookies::values(headers, COOKIE).as_slice() {
        [token] if !has_key && !token.is_empty() => Some(hash_secret(token)),
        _ => None,
    }
}

/// A request made with a valid session. `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub(crate) struct SignedIn {
    /// The expert signed in.
    pub(crate) expert: ExpertRecord,
    /// The session.
    pub(crate) session: SessionRecord,
    token_hash: KeyHash,
    csrf: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("expert", &self.expert.id)
            .field("session", &self.session.id)
            .finish_non_exhaustive()
    }
}

impl SignedIn {
    /// The CSRF token state-changing requests must carry.
    pub(crate) fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// The hash of this session's token (to end it).
    pub(crate) fn token_hash(&self) -> KeyHash {
        self.token_hash
    }

    /// 403 unless a state-changing request carries this session's CSRF token. Reading
    /// (`GET`, `HEAD`) needs none.
    pub(crate) fn check_csrf(&self, method: &Method, headers: &HeaderMap) -> ApiResult<()> {
        if matches!(*method, Method::GET | Method::HEAD) {
            return Ok(());
        }
        let presented = headers
            .get(CSRF_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if bool::from(presented.ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::forbidden("Missing or invalid CSRF token").code("CSRF_TOKEN_INVALID"))
        }
    }
}

/// The 401 of a request without a valid session.
pub(crate) fn not_signed_in() -> ApiError {
    ApiError::unauthorized("Not signed in, or the session has ended").code("NOT_SIGNED_IN")
}

impl AppState {
    /// Starts a session for an expert signed in by `method` (`link`, or a provider's name);
    /// the token goes into the cookie and nowhere else. The sign-in is in the audit log.
    pub(crate) async fn begin_session(
        &self,
        expert_id: &str,
        method: &str,
        user_agent: Option<&str>,
    ) -> ApiResult<SessionToken> {
        let token = SessionToken::generate();
        let now = self.clock.now();
        let session = SessionRecord {
            id: new_id(),
            expert_id: expert_id.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.saturating_add(ABSOLUTE_MS),
            user_agent: user_agent.map(|ua| ua.chars().take(USER_AGENT_CHARS).collect()),
        };
        let signed_in = AuditNote::new(
            AuditKind::SignedIn,
            Actor::Expert(expert_id.to_owned()),
            expert_id,
            now,
        )
        .with("method", method)
        .with("sessionId", session.id.as_str());
        self.store
            .insert_session(
                NewSession {
                    token_hash: hash_secret(&token.0),
                    session,
                },
                signed_in,
            )
            .await?;
        Ok(token)
    }

    /// The session a request's cookie names: `Ok(None)` without a session cookie; 401 for
    /// an unknown, ended or idle session, or an expert no longer active.
    pub(crate) async fn session(&self, headers: &HeaderMap) -> ApiResult<Option<SignedIn>> {
        let token = match cookies::values(headers, COOKIE).as_slice() {
            [] => return Ok(None),
            [token] if !token.is_empty() => token.clone(),
            _ => return Err(not_signed_in()),
        };
        let token_hash = hash_secret(&token);
        let now = self.clock.now();
        let (session, expert) = self
            .live_session(token_hash, now)
            .await?
            .ok_or_else(not_signed_in)?;
        if now.saturating_sub(session.last_seen_at) >= TOUCH_EVERY_MS {
            // Bookkeeping: a failed write must not fail the request it rides on.
            if let Err(error) = self.store.touch_session(token_hash, now).await {
                tracing::warn!(%error, "cannot record a session's use");
            }
        }
        Ok(Some(SignedIn {
            expert,
            session,
            token_hash,
            csrf: csrf_token(&token),
        }))
    }

    /// The session whose token has this hash and its expert, when the session lives at `now`
    /// (neither ended, idle, nor past its absolute end) and the expert is active.
    async fn live_session(
        &self,
        token_hash: KeyHash,
        now: Millis,
    ) -> Result<Option<(SessionRecord, ExpertRecord)>, StoreError> {
        let Some(session) = self
            .store
            .session_by_hash(token_hash)
            .await?
            .filter(|s| s.is_live(now))
        else {
            return Ok(None);
        };
        let expert = self
            .store
            .expert(&session.expert_id)
            .await?
            .filter(|expert| expert.is_active);
        Ok(expert.map(|expert| (session, expert)))
    }

    /// Whether a session (by its token's hash) still lives, its expert active (an open event
    /// stream asks now and then). A store failure counts as alive: it is asked again shortly.
    pub(crate) async fn session_alive(&self, token_hash: KeyHash) -> bool {
        !matches!(
            self.live_session(token_hash, self.clock.now()).await,
            Ok(None)
        )
    }

    /// Whether session cookies must be `Secure`: when people reach the server over https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.config
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

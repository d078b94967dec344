//! The expert's side on the web: sessions, one-time sign-in links, client keys as the
//! dashboard lists them, and requests with the name of the key that asked.

use crate::clock::Millis;

use super::{KeyHash, RequestRecord};

/// A signed-in browser (PROTOCOL E2). The token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Opaque id, shown in the session list (not a secret).
    pub id: String,
    /// The expert signed in.
    pub expert_id: String,
    /// When the session began.
    pub created_at: Millis,
    /// The last request made with it (updated at most once a minute).
    pub last_seen_at: Millis,
    /// The absolute end, whatever the activity.
    pub expires_at: Millis,
    /// The browser's `User-Agent` when it signed in, for the session list.
    pub user_agent: Option<String>,
}

impl SessionRecord {
    /// A session ends 12 hours after its last use, and 7 days after it began.
    pub const IDLE_MS: Millis = 12 * 3600 * 1000;

    /// Whether the session is still valid at `now`: neither idle for too long nor past its
    /// absolute end.
    pub fn is_live(&self, now: Millis) -> bool {
        now < self.expires_at && now < self.last_seen_at.saturating_add(Self::IDLE_MS)
    }

    /// When it ends if unused from now on.
    pub fn ends_at(&self) -> Millis {
        self.expires_at
            .min(self.last_seen_at.saturating_add(Self::IDLE_MS))
    }
}

/// What signing in creates.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// Hash of the cookie's token.
    pub token_hash: KeyHash,
    /// The session as it will be read back.
    pub session: SessionRecord,
}

/// A one-time sign-in link to create.
#[derive(Clone, Debug)]
pub struct NewLoginLink {
    /// Hash of the link's token.
    pub token_hash: KeyHash,
    /// The expert it signs in.
    pub expert_id: String,
    /// Creation time.
    pub created_at: Millis,
    /// After this it is refused.
    pub expires_at: Millis,
}

/// A sign-in with a provider in progress (PROTOCOL E2), from the redirect to the provider until
/// its callback. Only the hash of its `state` is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInFlow {
    /// Hash of the `state` sent to the provider.
    pub state_hash: KeyHash,
    /// The provider's id (`github`, `google`, `oidc`).
    pub provider: String,
    /// When it began.
    pub created_at: Millis,
    /// After this its callback is refused.
    pub expires_at: Millis,
}

/// A client key as its expert sees it in the dashboard: never the key string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKeySummary {
    /// Key id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Whether it still authenticates.
    pub is_active: bool,
    /// Creation time.
    pub created_at: Millis,
    /// When it last authenticated a request.
    pub last_used_at: Option<Millis>,
}

/// Which requests a page of the inbox holds.
#[derive(Clone, Debug, Default)]
pub struct InboxQuery {
    /// Only these statuses (all when empty).
    pub statuses: Vec<String>,
    /// Only the request with this reference code.
    pub ref_code: Option<String>,
    /// Only requests older than this position (`created_at`, `id`), for the next page.
    pub before: Option<(Millis, String)>,
    /// At most this many.
    pub limit: u32,
}

/// A request in the inbox, with the name of the client key that asked.
#[derive(Clone, Debug)]
pub struct InboxItem {
    /// The request.
    pub request: RequestRecord,
    /// The asking key's display name.
    pub client_key_name: Option<String>,
    /// How many messages the expert sent on it.
    pub response_count: u32,
}

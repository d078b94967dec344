//! Reading a request as a caller may see it: the tenancy rule ([`Viewer`]) in one place, and
//! lazy expiry on read, so nobody is ever shown a dead request as live.

use super::plan::is_live;
use super::{Action, LifecycleError, perform};
use crate::clock::Millis;
use crate::store::{RequestRecord, Store, StoreError};

/// Who is looking at a request. A client key sees the requests it created; an expert the
/// requests routed to it; the administrator (the command line) every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// A client key, by id.
    Client(&'a str),
    /// An expert, by id.
    Expert(&'a str),
    /// The operator at the command line.
    Admin,
}

impl Viewer<'_> {
    /// Tenancy: whether this viewer may see (and act on) the request.
    pub fn may_see(self, request: &RequestRecord) -> bool {
        match self {
            Self::Client(key_id) => request.client_key_id == key_id,
            Self::Expert(expert_id) => request.expert_id == expert_id,
            Self::Admin => true,
        }
    }
}

/// Reads a request the viewer may see, expiring it first when its TTL has passed. A request
/// the viewer may not see is reported as absent, exactly like a missing one, and is not
/// touched (no lazy expiry on someone else's request).
pub async fn load(
    store: &Store,
    viewer: Viewer<'_>,
    id: &str,
    now: Millis,
) -> Result<Option<RequestRecord>, StoreError> {
    let Some(request) = store.request(id).await?.filter(|r| viewer.may_see(r)) else {
        return Ok(None);
    };
    expire_if_due(store, request, now).await
}

/// A request as it is now: expired first when its TTL has passed (lazy expiry).
pub async fn expire_if_due(
    store: &Store,
    request: RequestRecord,
    now: Millis,
) -> Result<Option<RequestRecord>, StoreError> {
    if !is_live(&request.status) || request.expires_at > now {
        return Ok(Some(request));
    }
    let id = request.id.clone();
    match perform(store, request, Action::Expire, now).await {
        Ok(done) => Ok(done.request().cloned()),
        Err(LifecycleError::Store(error)) => Err(error),
        Err(LifecycleError::Refused(_)) => store.request(&id).await,
    }
}

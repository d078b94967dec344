//! The store's side of the dashboard (PROTOCOL E): sessions, sign-in links, linked sign-in
//! identities, the key list and the inbox.

use super::{
    Backend, ClientKeySummary, InboxItem, InboxQuery, KeyHash, NewLoginLink, NewSession,
    SessionRecord, SignInFlow, Store, StoreError,
};
use crate::audit::AuditNote;
use crate::clock::Millis;

impl Store {
    /// Records a new session, and appends `audit` (the sign-in) to the audit log in the same
    /// transaction.
    pub async fn insert_session(
        &self,
        new: NewSession,
        audit: AuditNote,
    ) -> Result<(), StoreError> {
        let audit = self.audit_append(vec![audit]).await?;
        delegate!(self.insert_session(new, audit))
    }

    /// The session whose token has this hash, whether or not it has expired.
    pub async fn session_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<SessionRecord>, StoreError> {
        delegate!(self.session_by_hash(hash))
    }

    /// Notes that a session was used now.
    pub async fn touch_session(&self, hash: KeyHash, now: Millis) -> Result<(), StoreError> {
        delegate!(self.touch_session(hash, now))
    }

    /// An expert's sessions, most recently used first.
    pub async fn sessions_of(&self, expert_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        delegate!(self.sessions_of(expert_id))
    }

    /// Ends the session whose token has this hash; `false` when there was none.
    pub async fn delete_session(&self, hash: KeyHash) -> Result<bool, StoreError> {
        delegate!(self.delete_session(hash))
    }

    /// Ends an expert's sessions (only the one with id `only`, when given); how many ended.
    pub async fn delete_sessions_of(
        &self,
        expert_id: &str,
        only: Option<String>,
    ) -> Result<u64, StoreError> {
        delegate!(self.delete_sessions_of(expert_id, only))
    }

    /// Records a one-time sign-in link.
    pub async fn insert_login_link(&self, new: NewLoginLink) -> Result<(), StoreError> {
        delegate!(self.insert_login_link(new))
    }

    /// Uses a sign-in link: the expert it signs in, once, before it expires; `None` for an
    /// unknown, used or expired link. Two concurrent uses: exactly one succeeds.
    pub async fn consume_login_link(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.consume_login_link(hash, now))
    }

    /// Records a sign-in with a provider in progress.
    pub async fn insert_sign_in_flow(&self, flow: SignInFlow) -> Result<(), StoreError> {
        delegate!(self.insert_sign_in_flow(flow))
    }

    /// Takes the sign-in in progress whose `state` has this hash: it is deleted whatever its
    /// state, so it is used at most once (two concurrent uses: one gets it). Expired or not;
    /// the caller checks.
    pub async fn take_sign_in_flow(&self, hash: KeyHash) -> Result<Option<SignInFlow>, StoreError> {
        delegate!(self.take_sign_in_flow(hash))
    }

    /// Links a sign-in provider's identity (provider name, stable subject id) to an expert.
    /// [`StoreError::UniqueViolation`] when the identity is linked already.
    pub async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        delegate!(self.link_identity(provider, subject, expert_id, now))
    }

    /// Removes a provider's identity from an expert; `false` when it was not linked to them.
    pub async fn unlink_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
    ) -> Result<bool, StoreError> {
        delegate!(self.unlink_identity(provider, subject, expert_id))
    }

    /// The expert a provider's identity is linked to.
    pub async fn expert_for_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.expert_for_identity(provider, subject))
    }

    /// An expert's client keys, newest first.
    pub async fn client_keys_of(
        &self,
        expert_id: &str,
    ) -> Result<Vec<ClientKeySummary>, StoreError> {
        delegate!(self.client_keys_of(expert_id))
    }

    /// Notes that a client key authenticated a request now.
    pub async fn touch_client_key(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        delegate!(self.touch_client_key(id, now))
    }

    /// Renames an expert.
    pub async fn rename_expert(&self, id: &str, name: &str) -> Result<(), StoreError> {
        delegate!(self.rename_expert(id, name))
    }

    /// A page of an expert's requests, newest first, with the asking key's name.
    pub async fn inbox(
        &self,
        expert_id: &str,
        query: InboxQuery,
    ) -> Result<Vec<InboxItem>, StoreError> {
        delegate!(self.inbox(expert_id, query))
    }

    /// Deletes expired sessions, sign-in links and sign-ins in progress.
    pub async fn prune_sign_ins(&self, now: Millis) -> Result<(), StoreError> {
        delegate!(self.prune_sign_ins(now))
    }
}

//! The expert's side on the web: sessions, one-time sign-in links, linked identities, the
//! dashboard's key list and inbox pages.
//!
//! Request and key ids are ordered and compared byte-wise (`COLLATE "C"`), as SQLite does,
//! whatever the database's collation: the inbox's cursor pages the same on both backends.

use heysummon_sdk::wire::Sender;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::rows::{col, count_col, request_row};
use super::{PgResult, PgStore, pg};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::columns::sender_column;
use crate::store::{
    ClientKeySummary, InboxItem, InboxQuery, KeyHash, NewLoginLink, NewSession, SessionRecord,
    SignInFlow, StoreError,
};

const SESSION_SELECT: &str =
    "SELECT id, expert_id, created_at, last_seen_at, expires_at, user_agent FROM sessions";

fn session_row(row: &Row) -> PgResult<SessionRecord> {
    Ok(SessionRecord {
        id: col(row, 0)?,
        expert_id: col(row, 1)?,
        created_at: col(row, 2)?,
        last_seen_at: col(row, 3)?,
        expires_at: col(row, 4)?,
        user_agent: col(row, 5)?,
    })
}

/// A value bound to a placeholder of a query built at run time.
type Param = Box<dyn ToSql + Sync + Send>;

/// Binds `value` to the next placeholder of `args`; returns the placeholder (`$n`).
fn bind(args: &mut Vec<Param>, value: impl ToSql + Sync + Send + 'static) -> String {
    args.push(Box::new(value));
    format!("${}", args.len())
}

impl PgStore {
    pub(crate) async fn insert_session(
        &self,
        new: NewSession,
        audit: Option<AuditAppend>,
    ) -> Result<(), StoreError> {
        let s = &new.session;
        self.execute_audited(
            "INSERT INTO sessions
             (token_hash, id, expert_id, created_at, last_seen_at, expires_at, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &&new.token_hash[..],
                &s.id,
                &s.expert_id,
                &s.created_at,
                &s.last_seen_at,
                &s.expires_at,
                &s.user_agent,
            ],
            audit.as_ref(),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn session_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("{SESSION_SELECT} WHERE token_hash = $1"))
            .await
            .map_err(pg)?;
        let row = client
            .query_opt(&statement, &[&&hash[..]])
            .await
            .map_err(pg)?;
        row.as_ref().map(session_row).transpose()
    }

    pub(crate) async fn touch_session(&self, hash: KeyHash, now: Millis) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .await
            .map_err(pg)?;
        client
            .execute(&statement, &[&&hash[..], &now])
            .await
            .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn sessions_of(
        &self,
        expert_id: &str,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("{SESSION_SELECT} WHERE expert_id = $1 ORDER BY last_seen_at DESC"),
                &[&expert_id],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(session_row).collect()
    }

    pub(crate) async fn delete_session(&self, hash: KeyHash) -> Result<bool, StoreError> {
        let deleted = self
            .client()
            .await?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&&hash[..]])
            .await
            .map_err(pg)?;
        Ok(deleted > 0)
    }

    pub(crate) async fn delete_sessions_of(
        &self,
        expert_id: &str,
        only: Option<String>,
    ) -> Result<u64, StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM sessions WHERE expert_id = $1 AND ($2::TEXT IS NULL OR id = $2)",
                &[&expert_id, &only],
            )
            .await
            .map_err(pg)
    }

    pub(crate) async fn insert_login_link(&self, new: NewLoginLink) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO login_links (token_hash, expert_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &&new.token_hash[..],
                    &new.expert_id,
                    &new.created_at,
                    &new.expires_at,
                ],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    /// One statement: of two uses of a link racing on any instances, the second waits for
    /// the first's row lock, then finds the link used.
    pub(crate) async fn consume_login_link(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE login_links SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING expert_id",
                &[&&hash[..], &now],
            )
            .await
            .map_err(pg)?;
        row.map(|row| col(&row, 0)).transpose()
    }

    pub(crate) async fn insert_sign_in_flow(&self, flow: SignInFlow) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO sign_in_flows (state_hash, provider, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &&flow.state_hash[..],
                    &flow.provider,
                    &flow.created_at,
                    &flow.expires_at,
                ],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    /// One statement: of two callbacks racing with one state, only one deletes the row.
    pub(crate) async fn take_sign_in_flow(
        &self,
        hash: KeyHash,
    ) -> Result<Option<SignInFlow>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM sign_in_flows WHERE state_hash = $1
                 RETURNING provider, created_at, expires_at",
                &[&&hash[..]],
            )
            .await
            .map_err(pg)?;
        row.map(|row| {
            Ok(SignInFlow {
                state_hash: hash,
                provider: col(&row, 0)?,
                created_at: col(&row, 1)?,
                expires_at: col(&row, 2)?,
            })
        })
        .transpose()
    }

    /// The primary key settles two links of one identity racing on any instances: the second
    /// is the unique violation `identities.provider, identities.subject`.
    pub(crate) async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO identities (provider, subject, expert_id, created_at)
                 VALUES ($1, $2, $3, $4)",
                &[&provider, &subject, &expert_id, &now],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn unlink_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .client()
            .await?
            .execute(
                "DELETE FROM identities WHERE provider = $1 AND subject = $2 AND expert_id = $3",
                &[&provider, &subject, &expert_id],
            )
            .await
            .map_err(pg)?;
        Ok(deleted > 0)
    }

    pub(crate) async fn expert_for_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT expert_id FROM identities WHERE provider = $1 AND subject = $2",
                &[&provider, &subject],
            )
            .await
            .map_err(pg)?;
        row.map(|row| col(&row, 0)).transpose()
    }

    pub(crate) async fn client_keys_of(
        &self,
        expert_id: &str,
    ) -> Result<Vec<ClientKeySummary>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, name, is_active, created_at, last_used_at FROM client_keys
                 WHERE expert_id = $1 ORDER BY created_at DESC, id COLLATE \"C\" DESC",
                &[&expert_id],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|row| {
                Ok(ClientKeySummary {
                    id: col(row, 0)?,
                    name: col(row, 1)?,
                    is_active: col(row, 2)?,
                    created_at: col(row, 3)?,
                    last_used_at: col(row, 4)?,
                })
            })
            .collect()
    }

    pub(crate) async fn touch_client_key(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("UPDATE client_keys SET last_used_at = $2 WHERE id = $1")
            .await
            .map_err(pg)?;
        client.execute(&statement, &[&id, &now]).await.map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn rename_expert(&self, id: &str, name: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("UPDATE experts SET name = $2 WHERE id = $1", &[&id, &name])
            .await
            .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn inbox(
        &self,
        expert_id: &str,
        query: InboxQuery,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let mut args: Vec<Param> = Vec::new();
        let sender = bind(&mut args, sender_column(Sender::Expert));
        let expert = bind(&mut args, expert_id.to_owned());
        let mut sql = format!(
            "SELECT requests.*, client_keys.name AS client_key_name,
                    (SELECT COUNT(*) FROM messages
                     WHERE messages.request_id = requests.id AND messages.sender = {sender})
                        AS response_count
             FROM requests
             LEFT JOIN client_keys ON client_keys.id = requests.client_key_id
                 AND client_keys.expert_id = requests.expert_id
             WHERE requests.expert_id = {expert}"
        );
        if !query.statuses.is_empty() {
            let statuses = bind(&mut args, query.statuses);
            sql.push_str(&format!(" AND requests.status = ANY({statuses})"));
        }
        if let Some(code) = query.ref_code {
            let code = bind(&mut args, code);
            sql.push_str(&format!(" AND requests.ref_code = {code}"));
        }
        if let Some((created_at, id)) = query.before {
            let (created_at, id) = (bind(&mut args, created_at), bind(&mut args, id));
            sql.push_str(&format!(
                " AND (requests.created_at < {created_at}
                       OR (requests.created_at = {created_at}
                           AND requests.id COLLATE \"C\" < {id}))"
            ));
        }
        let limit = bind(&mut args, i64::from(query.limit));
        sql.push_str(&format!(
            " ORDER BY requests.created_at DESC, requests.id COLLATE \"C\" DESC LIMIT {limit}"
        ));
        let client = self.client().await?;
        // A handful of shapes (which filters are present): each is prepared once.
        let statement = client.prepare_cached(&sql).await.map_err(pg)?;
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|arg| arg.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&statement, &params).await.map_err(pg)?;
        rows.iter()
            .map(|row| {
                Ok(InboxItem {
                    request: request_row(row)?,
                    client_key_name: col(row, "client_key_name")?,
                    response_count: count_col(row, "response_count")?,
                })
            })
            .collect()
    }

    pub(crate) async fn prune_sign_ins(&self, now: Millis) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        for table in ["sessions", "login_links", "sign_in_flows"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE expires_at <= $1"),
                &[&now],
            )
            .await
            .map_err(pg)?;
        }
        super::commit(tx).await
    }
}

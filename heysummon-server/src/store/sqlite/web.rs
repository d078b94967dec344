//! The expert's side on the web: sessions, one-time sign-in links, linked identities, the
//! dashboard's key list and inbox pages.

use heysummon_sdk::wire::Sender;
use rusqlite::{OptionalExtension, Row, params, params_from_iter, types::Value};

use super::SqliteStore;
use super::rows::{request_row, sender_column};
use crate::clock::Millis;
use crate::store::audit::AuditAppend;
use crate::store::{
    ClientKeySummary, InboxItem, InboxQuery, KeyHash, NewLoginLink, NewSession, SessionRecord,
    SignInFlow, StoreError,
};

const SESSION_SELECT: &str =
    "SELECT id, expert_id, created_at, last_seen_at, expires_at, user_agent FROM sessions";

fn session_row(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: row.get(0)?,
        expert_id: row.get(1)?,
        created_at: row.get(2)?,
        last_seen_at: row.get(3)?,
        expires_at: row.get(4)?,
        user_agent: row.get(5)?,
    })
}

impl SqliteStore {
    pub(crate) async fn insert_session(
        &self,
        new: NewSession,
        audit: Option<AuditAppend>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let s = &new.session;
            conn.prepare_cached(
                "INSERT INTO sessions
                 (token_hash, id, expert_id, created_at, last_seen_at, expires_at, user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                &new.token_hash[..],
                s.id,
                s.expert_id,
                s.created_at,
                s.last_seen_at,
                s.expires_at,
                s.user_agent
            ])?;
            super::audit::append(conn, audit.as_ref())?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn session_by_hash(
        &self,
        hash: KeyHash,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.read_point(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SESSION_SELECT} WHERE token_hash = ?1"))?;
            Ok(stmt.query_row([&hash[..]], session_row).optional()?)
        })
        .await
    }

    pub(crate) async fn touch_session(&self, hash: KeyHash, now: Millis) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
                .execute(params![&hash[..], now])?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn sessions_of(
        &self,
        expert_id: &str,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{SESSION_SELECT} WHERE expert_id = ?1 ORDER BY last_seen_at DESC"
            ))?;
            let rows = stmt.query_map([expert_id], session_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn delete_session(&self, hash: KeyHash) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Ok(conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [&hash[..]])? > 0)
        })
        .await
    }

    pub(crate) async fn delete_sessions_of(
        &self,
        expert_id: &str,
        only: Option<String>,
    ) -> Result<u64, StoreError> {
        let expert_id = expert_id.to_owned();
        self.write(move |conn| {
            let deleted = conn.execute(
                "DELETE FROM sessions WHERE expert_id = ?1 AND (?2 IS NULL OR id = ?2)",
                params![expert_id, only],
            )?;
            Ok(deleted as u64)
        })
        .await
    }

    pub(crate) async fn insert_login_link(&self, new: NewLoginLink) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO login_links (token_hash, expert_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &new.token_hash[..],
                    new.expert_id,
                    new.created_at,
                    new.expires_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn consume_login_link(
        &self,
        hash: KeyHash,
        now: Millis,
    ) -> Result<Option<String>, StoreError> {
        self.write(move |conn| {
            Ok(conn
                .query_row(
                    "UPDATE login_links SET used_at = ?2
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING expert_id",
                    params![&hash[..], now],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    pub(crate) async fn insert_sign_in_flow(&self, flow: SignInFlow) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO sign_in_flows (state_hash, provider, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &flow.state_hash[..],
                    flow.provider,
                    flow.created_at,
                    flow.expires_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn take_sign_in_flow(
        &self,
        hash: KeyHash,
    ) -> Result<Option<SignInFlow>, StoreError> {
        self.write(move |conn| {
            Ok(conn
                .query_row(
                    "DELETE FROM sign_in_flows WHERE state_hash = ?1
                     RETURNING provider, created_at, expires_at",
                    [&hash[..]],
                    |row| {
                        Ok(SignInFlow {
                            state_hash: hash,
                            provider: row.get(0)?,
                            created_at: row.get(1)?,
                            expires_at: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    pub(crate) async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (provider, subject, expert_id) = (
            provider.to_owned(),
            subject.to_owned(),
            expert_id.to_owned(),
        );
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO identities (provider, subject, expert_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![provider, subject, expert_id, now],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn unlink_identity(
        &self,
        provider: &str,
        subject: &str,
        expert_id: &str,
    ) -> Result<bool, StoreError> {
        let (provider, subject, expert_id) = (
            provider.to_owned(),
            subject.to_owned(),
            expert_id.to_owned(),
        );
        self.write(move |conn| {
            let deleted = conn.execute(
                "DELETE FROM identities WHERE provider = ?1 AND subject = ?2 AND expert_id = ?3",
                params![provider, subject, expert_id],
            )?;
            Ok(deleted > 0)
        })
        .await
    }

    pub(crate) async fn expert_for_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.read_point(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT expert_id FROM identities WHERE provider = ?1 AND subject = ?2",
                    params![provider, subject],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    pub(crate) async fn client_keys_of(
        &self,
        expert_id: &str,
    ) -> Result<Vec<ClientKeySummary>, StoreError> {
        let expert_id = expert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, is_active, created_at, last_used_at FROM client_keys
                 WHERE expert_id = ?1 ORDER BY created_at DESC, id DESC",
            )?;
            let rows = stmt.query_map([expert_id], |row| {
                Ok(ClientKeySummary {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    is_active: row.get(2)?,
                    created_at: row.get(3)?,
                    last_used_at: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn touch_client_key(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("UPDATE client_keys SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id, now])?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn rename_expert(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let (id, name) = (id.to_owned(), name.to_owned());
        self.write(move |conn| {
            conn.execute(
                "UPDATE experts SET name = ?2 WHERE id = ?1",
                params![id, name],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn inbox(
        &self,
        expert_id: &str,
        query: InboxQuery,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let mut sql = String::from(
            "SELECT requests.*, client_keys.name AS client_key_name,
                    (SELECT COUNT(*) FROM messages
                     WHERE messages.request_id = requests.id AND messages.sender = ?)
                        AS response_count
             FROM requests
             LEFT JOIN client_keys ON client_keys.id = requests.client_key_id
                 AND client_keys.expert_id = requests.expert_id
             WHERE requests.expert_id = ?",
        );
        let mut args: Vec<Value> = vec![
            Value::Text(sender_column(Sender::Expert).to_owned()),
            Value::Text(expert_id.to_owned()),
        ];
        if !query.statuses.is_empty() {
            let marks = vec!["?"; query.statuses.len()].join(", ");
            sql.push_str(&format!(" AND requests.status IN ({marks})"));
            args.extend(query.statuses.into_iter().map(Value::Text));
        }
        if let Some(code) = query.ref_code {
            sql.push_str(" AND requests.ref_code = ?");
            args.push(Value::Text(code));
        }
        if let Some((created_at, id)) = query.before {
            sql.push_str(
                " AND (requests.created_at < ? OR (requests.created_at = ? AND requests.id < ?))",
            );
            args.extend([
                Value::Integer(created_at),
                Value::Integer(created_at),
                Value::Text(id),
            ]);
        }
        sql.push_str(" ORDER BY requests.created_at DESC, requests.id DESC LIMIT ?");
        args.push(Value::Integer(i64::from(query.limit)));
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), |row| {
                Ok((
                    request_row(row)?,
                    row.get::<_, Option<String>>("client_key_name")?,
                    row.get::<_, u32>("response_count")?,
                ))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (request, client_key_name, response_count) = row?;
                items.push(InboxItem {
                    request: request?,
                    client_key_name,
                    response_count,
                });
            }
            Ok(items)
        })
        .await
    }

    pub(crate) async fn prune_sign_ins(&self, now: Millis) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
            conn.execute("DELETE FROM login_links WHERE expires_at <= ?1", [now])?;
            conn.execute("DELETE FROM sign_in_flows WHERE expires_at <= ?1", [now])?;
            Ok(())
        })
        .await
    }
}

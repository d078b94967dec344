//! Notification channels: the channels, the messages sent to chats, the chat users linked to
//! an expert (by one-time connect codes), and the inbound actions already handled.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use super::outbox::note_failure;
use super::rows::hash_column;
use crate::clock::Millis;
use crate::store::channels::START_CURSOR_FOR_FIRST_CHANNEL;
use crate::store::{ChannelLink, ChannelRecord, KeyHash, StoreError};

const CHANNEL_SELECT: &str = "SELECT c.id, c.expert_id, c.kind, c.name, c.settings, c.secrets,
    c.inbound_token_hash, c.paused, c.failures, c.last_error, c.last_error_at,
    c.last_delivered_at, c.created_at,
    (SELECT COUNT(*) FROM channel_outbox o WHERE o.channel_id = c.id AND o.delivered_at IS NULL)
    FROM channels c";

fn channel_row(row: &Row<'_>) -> rusqlite::Result<ChannelRecord> {
    Ok(ChannelRecord {
        id: row.get(0)?,
        expert_id: row.get(1)?,
        kind: row.get(2)?,
        name: row.get(3)?,
        settings: row.get(4)?,
        secrets: row.get(5)?,
        inbound_token_hash: hash_column(row, 6)?,
        paused: row.get(7)?,
        failures: row.get(8)?,
        last_error: row.get(9)?,
        last_error_at: row.get(10)?,
        last_delivered_at: row.get(11)?,
        created_at: row.get(12)?,
        pending: row.get(13)?,
    })
}

impl SqliteStore {
    pub(crate) async fn insert_channel(&self, channel: ChannelRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(START_CURSOR_FOR_FIRST_CHANNEL, [])?;
            conn.execute(
                "INSERT INTO channels (id, expert_id, kind, name, settings, secrets,
                 inbound_token_hash, paused, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    channel.id,
                    channel.expert_id,
                    channel.kind,
                    channel.name,
                    channel.settings,
                    channel.secrets,
                    channel.inbound_token_hash.as_ref().map(|h| &h[..]),
                    channel.paused,
                    channel.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let id = id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("{CHANNEL_SELECT} WHERE c.id = ?1"))?;
            Ok(stmt.query_row([id], channel_row).optional()?)
        })
        .await
    }

    pub(crate) async fn channels_of(
        &self,
        expert_id: Option<String>,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{CHANNEL_SELECT} WHERE ?1 IS NULL OR c.expert_id = ?1 ORDER BY c.created_at, c.id"
            ))?;
            let rows = stmt.query_map([expert_id], channel_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn set_channel_paused(
        &self,
        id: &str,
        paused: bool,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            Ok(conn.execute(
                "UPDATE channels SET paused = ?2 WHERE id = ?1",
                params![id, paused],
            )? > 0)
        })
        .await
    }

    pub(crate) async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| Ok(conn.execute("DELETE FROM channels WHERE id = ?1", [id])? > 0))
            .await
    }

    pub(crate) async fn note_channel_test(
        &self,
        channel_id: &str,
        error: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            match error {
                Some(error) => note_failure(conn, &channel_id, &error, now)?,
                None => {
                    conn.execute(
                        "UPDATE channels SET failures = 0, last_error = NULL,
                         last_error_at = NULL, last_delivered_at = ?2 WHERE id = ?1",
                        params![channel_id, now],
                    )?;
                }
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn channel_message(
        &self,
        channel_id: &str,
        request_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let (channel_id, request_id) = (channel_id.to_owned(), request_id.to_owned());
        self.read_point(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT external_id FROM channel_messages
                     WHERE channel_id = ?1 AND request_id = ?2",
                )?
                .query_row([channel_id, request_id], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    pub(crate) async fn request_of_message(
        &self,
        channel_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let (channel_id, external_id) = (channel_id.to_owned(), external_id.to_owned());
        self.read_point(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT request_id FROM channel_messages
                     WHERE channel_id = ?1 AND external_id = ?2",
                )?
                .query_row([channel_id, external_id], |row| row.get(0))
                .optional()?)
        })
        .await
    }
}

/// Hash of a connect code or token, as stored.
pub(super) fn hash_bytes(hash: &KeyHash) -> &[u8] {
    &hash[..]
}

impl SqliteStore {
    pub(crate) async fn insert_connect_code(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO channel_connect_codes (code_hash, channel_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![hash_bytes(&code_hash), channel_id, expires_at],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn link_chat_user(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        link: ChannelLink,
    ) -> Result<bool, StoreError> {
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            let used = conn.execute(
                "UPDATE channel_connect_codes SET used_at = ?3
                 WHERE code_hash = ?1 AND channel_id = ?2 AND used_at IS NULL AND expires_at > ?3",
                params![hash_bytes(&code_hash), channel_id, link.created_at],
            )?;
            if used == 0 {
                return Ok(false);
            }
            conn.execute(
                "INSERT INTO channel_links (channel_id, user_id, display_name, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (channel_id, user_id) DO UPDATE SET display_name = excluded.display_name",
                params![channel_id, link.user_id, link.display_name, link.created_at],
            )?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn channel_links(
        &self,
        channel_id: &str,
    ) -> Result<Vec<ChannelLink>, StoreError> {
        let channel_id = channel_id.to_owned();
        self.read_point(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT user_id, display_name, created_at FROM channel_links
                 WHERE channel_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([channel_id], |row| {
                Ok(ChannelLink {
                    user_id: row.get(0)?,
                    display_name: row.get(1)?,
                    created_at: row.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub(crate) async fn unlink_chat_user(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let (channel_id, user_id) = (channel_id.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            Ok(conn.execute(
                "DELETE FROM channel_links WHERE channel_id = ?1 AND user_id = ?2",
                [channel_id, user_id],
            )? > 0)
        })
        .await
    }

    pub(crate) async fn record_inbound(
        &self,
        channel_id: &str,
        external_id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (channel_id, external_id) = (channel_id.to_owned(), external_id.to_owned());
        self.write(move |conn| {
            Ok(conn.execute(
                "INSERT OR IGNORE INTO channel_inbound (channel_id, external_id, created_at)
                 VALUES (?1, ?2, ?3)",
                params![channel_id, external_id, now],
            )? > 0)
        })
        .await
    }

    pub(crate) async fn prune_channels(
        &self,
        before: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM channel_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?1",
                [before],
            )?;
            conn.execute(
                "DELETE FROM channel_inbound WHERE created_at < ?1",
                [before],
            )?;
            conn.execute(
                "DELETE FROM channel_connect_codes WHERE expires_at < ?1 OR used_at IS NOT NULL",
                [now],
            )?;
            Ok(())
        })
        .await
    }
}

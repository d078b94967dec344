//! Notification channels: the channels, the messages sent to chats, the chat users linked to
//! an expert (by one-time connect codes), and the inbound actions already handled.

use tokio_postgres::Row;

use super::outbox::note_failure;
use super::rows::{col, count_col, hash_col};
use super::{PgResult, PgStore, pg};
use crate::clock::Millis;
use crate::store::channels::START_CURSOR_FOR_FIRST_CHANNEL;
use crate::store::{ChannelLink, ChannelRecord, KeyHash, StoreError};

const CHANNEL_SELECT: &str = "SELECT c.id, c.expert_id, c.kind, c.name, c.settings, c.secrets,
    c.inbound_token_hash, c.paused, c.failures, c.last_error, c.last_error_at,
    c.last_delivered_at, c.created_at,
    (SELECT COUNT(*) FROM channel_outbox o WHERE o.channel_id = c.id AND o.delivered_at IS NULL)
    FROM channels c";

fn channel_row(row: &Row) -> PgResult<ChannelRecord> {
    let pending: i64 = col(row, 13)?;
    Ok(ChannelRecord {
        id: col(row, 0)?,
        expert_id: col(row, 1)?,
        kind: col(row, 2)?,
        name: col(row, 3)?,
        settings: col(row, 4)?,
        secrets: col(row, 5)?,
        inbound_token_hash: hash_col(row, 6)?,
        paused: col(row, 7)?,
        failures: count_col(row, 8)?,
        last_error: col(row, 9)?,
        last_error_at: col(row, 10)?,
        last_delivered_at: col(row, 11)?,
        created_at: col(row, 12)?,
        pending: u64::try_from(pending)
            .map_err(|_| StoreError::Corrupt(format!("pending count {pending}")))?,
    })
}

fn link_row(row: &Row) -> PgResult<ChannelLink> {
    Ok(ChannelLink {
        user_id: col(row, 0)?,
        display_name: col(row, 1)?,
        created_at: col(row, 2)?,
    })
}

impl PgStore {
    pub(crate) async fn insert_channel(&self, channel: ChannelRecord) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute(START_CURSOR_FOR_FIRST_CHANNEL, &[])
            .await
            .map_err(pg)?;
        let statement = tx
            .prepare_cached(
                "INSERT INTO channels (id, expert_id, kind, name, settings, secrets,
                 inbound_token_hash, paused, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await
            .map_err(pg)?;
        tx.execute(
            &statement,
            &[
                &channel.id,
                &channel.expert_id,
                &channel.kind,
                &channel.name,
                &channel.settings,
                &channel.secrets,
                &channel.inbound_token_hash.as_ref().map(|h| &h[..]),
                &channel.paused,
                &channel.created_at,
            ],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }

    pub(crate) async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("{CHANNEL_SELECT} WHERE c.id = $1"))
            .await
            .map_err(pg)?;
        let row = client.query_opt(&statement, &[&id]).await.map_err(pg)?;
        row.as_ref().map(channel_row).transpose()
    }

    pub(crate) async fn channels_of(
        &self,
        expert_id: Option<String>,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "{CHANNEL_SELECT} WHERE $1::TEXT IS NULL OR c.expert_id = $1::TEXT
                 ORDER BY c.created_at, c.id"
            ))
            .await
            .map_err(pg)?;
        let rows = client.query(&statement, &[&expert_id]).await.map_err(pg)?;
        rows.iter().map(channel_row).collect()
    }

    pub(crate) async fn set_channel_paused(
        &self,
        id: &str,
        paused: bool,
    ) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE channels SET paused = $2 WHERE id = $1",
                &[&id, &paused],
            )
            .await
            .map_err(pg)?;
        Ok(changed > 0)
    }

    pub(crate) async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client()
            .await?
            .execute("DELETE FROM channels WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        Ok(deleted > 0)
    }

    pub(crate) async fn note_channel_test(
        &self,
        channel_id: &str,
        error: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match error {
            Some(error) => note_failure(&client, channel_id, &error, now).await?,
            None => {
                client
                    .execute(
                        "UPDATE channels SET failures = 0, last_error = NULL,
                         last_error_at = NULL, last_delivered_at = $2 WHERE id = $1",
                        &[&channel_id, &now],
                    )
                    .await
                    .map_err(pg)?;
            }
        }
        Ok(())
    }

    pub(crate) async fn channel_message(
        &self,
        channel_id: &str,
        request_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT external_id FROM channel_messages
                 WHERE channel_id = $1 AND request_id = $2",
            )
            .await
            .map_err(pg)?;
        let row = client
            .query_opt(&statement, &[&channel_id, &request_id])
            .await
            .map_err(pg)?;
        row.map(|row| col(&row, 0)).transpose()
    }

    pub(crate) async fn request_of_message(
        &self,
        channel_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT request_id FROM channel_messages
                 WHERE channel_id = $1 AND external_id = $2",
            )
            .await
            .map_err(pg)?;
        let row = client
            .query_opt(&statement, &[&channel_id, &external_id])
            .await
            .map_err(pg)?;
        row.map(|row| col(&row, 0)).transpose()
    }

    pub(crate) async fn insert_connect_code(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO channel_connect_codes (code_hash, channel_id, expires_at)
                 VALUES ($1, $2, $3)",
                &[&&code_hash[..], &channel_id, &expires_at],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    /// The code is used by a conditional update: of two concurrent uses, the second waits for
    /// the first's row lock, then finds it used and changes nothing.
    pub(crate) async fn link_chat_user(
        &self,
        channel_id: &str,
        code_hash: KeyHash,
        link: ChannelLink,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let used = tx
            .execute(
                "UPDATE channel_connect_codes SET used_at = $3
                 WHERE code_hash = $1 AND channel_id = $2 AND used_at IS NULL AND expires_at > $3",
                &[&&code_hash[..], &channel_id, &link.created_at],
            )
            .await
            .map_err(pg)?;
        if used == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO channel_links (channel_id, user_id, display_name, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (channel_id, user_id) DO UPDATE SET display_name = excluded.display_name",
            &[
                &channel_id,
                &link.user_id,
                &link.display_name,
                &link.created_at,
            ],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await?;
        Ok(true)
    }

    pub(crate) async fn channel_links(
        &self,
        channel_id: &str,
    ) -> Result<Vec<ChannelLink>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT user_id, display_name, created_at FROM channel_links
                 WHERE channel_id = $1 ORDER BY created_at",
            )
            .await
            .map_err(pg)?;
        let rows = client.query(&statement, &[&channel_id]).await.map_err(pg)?;
        rows.iter().map(link_row).collect()
    }

    pub(crate) async fn unlink_chat_user(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .client()
            .await?
            .execute(
                "DELETE FROM channel_links WHERE channel_id = $1 AND user_id = $2",
                &[&channel_id, &user_id],
            )
            .await
            .map_err(pg)?;
        Ok(deleted > 0)
    }

    pub(crate) async fn record_inbound(
        &self,
        channel_id: &str,
        external_id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO channel_inbound (channel_id, external_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(pg)?;
        let inserted = client
            .execute(&statement, &[&channel_id, &external_id, &now])
            .await
            .map_err(pg)?;
        Ok(inserted > 0)
    }

    pub(crate) async fn prune_channels(
        &self,
        before: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute(
            "DELETE FROM channel_outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1",
            &[&before],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "DELETE FROM channel_inbound WHERE created_at < $1",
            &[&before],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "DELETE FROM channel_connect_codes WHERE expires_at < $1 OR used_at IS NOT NULL",
            &[&now],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }
}

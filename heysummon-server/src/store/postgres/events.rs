//! The event log across instances: the listener that sequences what writers staged
//! (`sequencer.rs`) and publishes on this instance's bus what any instance appended, woken by
//! `NOTIFY`, by this instance's writers, and every second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::{AsyncMessage, NoTls};

use tokio::sync::Notify;

use super::log::catch_up_on;
use super::{Inner, PgResult, PgStore, pg, sequencer};

/// The channel instances notify each other on (the sequencer's function notifies on it too).
const CHANNEL: &str = "heysummon_events";

/// How long a write waits for its events to be published on this instance's bus.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);

/// Scans of the log the writers asked for, and how far the listener has got.
#[derive(Debug)]
pub(super) struct Scans {
    requested: AtomicU64,
    done: tokio::sync::watch::Sender<u64>,
}

impl Default for Scans {
    fn default() -> Self {
        Self {
            requested: AtomicU64::new(0),
            done: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// Without a notification, the log is read again this often (a notification can be lost with
/// its connection).
const RESCAN: Duration = Duration::from_secs(1);

impl PgStore {
    /// The newest position of the log (0 when empty).
    pub(super) async fn last_logged(&self) -> PgResult<i64> {
        let row = self
            .client()
            .await?
            .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM events", &[])
            .await
            .map_err(pg)?;
        Ok(row.get(0))
    }

    /// After a commit that staged events: wakes this instance's listener, which sequences them
    /// into the log and publishes them on the bus from its own connection, and waits (at most
    /// [`PUBLISH_WAIT`]) until a pass and scan that began after the wake-up have finished, so
    /// that when a write returns, its events are out, as with SQLite. The other instances hear of them through the
    /// notification. Never waits for the pool: a writer may still hold a pooled connection,
    /// and with all of them held, a publisher waiting for one would wait forever.
    pub(super) async fn publish_appended(&self) {
        let scans = &self.inner.scans;
        let wanted = scans.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut done = scans.done.subscribe();
        self.inner.appended.notify_one();
        let published = done.wait_for(|&scan| scan >= wanted);
        if tokio::time::timeout(PUBLISH_WAIT, published).await.is_err() {
            tracing::warn!("the event listener is behind; appended events will follow");
        }
    }
}

/// Starts the listener: a connection of its own that `LISTEN`s, and on every notification (or
/// every [`RESCAN`], or after a reconnect) publishes what the log holds past the bus's cursor.
/// It ends with the store.
pub(super) fn listen(store: &PgStore) {
    let weak = Arc::downgrade(&store.inner);
    let config = store.inner.config.clone();
    let stop = store.inner.listener.clone();
    let appended = Arc::clone(&store.inner.appended);
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            if let Err(error) = listen_once(&weak, &config, &stop, &appended).await {
                tracing::warn!(%error, "the event listener lost its database connection");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RESCAN) => {}
            }
        }
    });
}

async fn listen_once(
    weak: &Weak<Inner>,
    config: &tokio_postgres::Config,
    stop: &tokio_util::sync::CancellationToken,
    appended: &Notify,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (heard, mut hearing) = tokio::sync::mpsc::channel::<()>(1);
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    // A full channel already holds a wake-up: one scan covers both.
                    let _ = heard.try_send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    loop {
        // Whatever was appended before LISTEN took effect, or while reconnecting, too.
        let Some(inner) = weak.upgrade() else {
            break;
        };
        // The scans asked for before this one began are answered by it.
        let asked = inner.scans.requested.load(Ordering::SeqCst);
        let store = PgStore { inner };
        // What this instance's writers (or a dead instance) staged, then the log.
        let scanned = match sequencer::sequence(&client).await {
            Ok(_) => catch_up_on(&store, &client).await,
            Err(error) => Err(pg(error)),
        };
        if scanned.is_ok() {
            store.inner.scans.done.send_if_modified(|done| {
                let moved = asked > *done;
                *done = (*done).max(asked);
                moved
            });
        }
        if let Err(error) = scanned {
            tracing::warn!(%error, "could not read the event log");
            if client.is_closed() {
                break;
            }
        }
        drop(store);
        tokio::select! {
            () = stop.cancelled() => break,
            woke = hearing.recv() => if woke.is_none() { break },
            () = appended.notified() => {}
            () = tokio::time::sleep(RESCAN) => {}
        }
    }
    driver.abort();
    Ok(())
}

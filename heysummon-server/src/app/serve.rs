//! The accept loop: HTTP/1.1 connections served with hyper's connection directly (rather than
//! `axum::serve`, which negotiates HTTP/2 too): agents, the guard and the dashboard speak
//! HTTP/1.1, and every idle waiting subscriber costs less this way.
//!
//! Whatever clients do, the server stays reachable: headers (and idle keep-alive gaps) are
//! bounded by the header read timeout, bodies by the body read timeout (in
//! [`crate::http::ApiRequest`]), the number of connections by a cap answered with a JSON 503,
//! and a shutdown by the drain time, after which the remaining connections are closed.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;

/// The body of the answer to a connection beyond the cap.
const AT_CAPACITY_BODY: &str = "{\"error\":\"The server is at its connection limit; try again \
    shortly\",\"code\":\"CONNECTION_LIMIT\"}";
/// The whole answer to a connection beyond the cap; the connection is closed after it.
static AT_CAPACITY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{AT_CAPACITY_BODY}",
        AT_CAPACITY_BODY.len()
    )
    .into_bytes()
});
/// How long writing the refusal may take.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Refusals answered at once at most; beyond, a connection is closed without an answer, so a
/// flood of connections cannot spend the descriptors kept for the database.
const MAX_REFUSALS: usize = 64;
/// At most one warning per this interval about failing accepts or refused connections.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Serves `router` on a bound listener until `shutdown` is cancelled; then stops accepting,
/// lets in-flight requests finish for at most the drain time, closes what is left, and returns.
pub(super) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: &HttpConfig,
    shutdown: CancellationToken,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs))
        // Above the edge's own limit, so that the edge answers in JSON (hyper's own refusal
        // has no body); beyond this, hyper refuses.
        .max_headers(2 * super::edge::MAX_HEADERS);
    let capacity = Arc::new(Semaphore::new(limits.connection_cap()));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let mut connections = JoinSet::new();
    let mut accept_warnings = Throttled::default();
    let mut refusal_warnings = Throttled::default();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    accept_warnings.warn(|suppressed| {
                        tracing::warn!(%error, suppressed, "accept failed");
                    });
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&capacity).try_acquire_owned() else {
            refusal_warnings.warn(|suppressed| {
                tracing::warn!(suppressed, "connection limit reached; refusing connections");
            });
            crate::telemetry::connection_refused();
            if let Ok(refusing) = Arc::clone(&refusals).try_acquire_owned() {
                connections.spawn(async move {
                    refuse(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let drain = Duration::from_secs(limits.shutdown_drain_secs);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "closing the connections still open after the drain time"
        );
    }
    connections.shutdown().await;
}

/// Answers a connection beyond the cap with a JSON 503 and closes it: after reading what the
/// client sends of its request head within a second (an HTTP client does not expect an answer
/// before it has asked), whatever that is.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, skip_request_head(&mut stream)).await;
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(&AT_CAPACITY).await?;
        stream.shutdown().await
    })
    .await;
}

/// Reads until the end of a request head (an empty line) or 16 KiB, whichever comes first.
async fn skip_request_head(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut seen = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while seen.len() < 16 * 1024 {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..read]);
        if seen.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Ok(())
}

/// A warning that is logged at most once per [`WARN_EVERY`], with how many were held back.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    fn warn(&mut self, log: impl FnOnce(u64)) {
        if self.last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            self.suppressed += 1;
            return;
        }
        log(self.suppressed);
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_json_response() {
        let text = std::str::from_utf8(&AT_CAPACITY).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["code"], "CONNECTION_LIMIT");
    }

    #[test]
    fn warnings_are_throttled() {
        let mut throttled = Throttled::default();
        let mut logged = Vec::new();
        for _ in 0..5 {
            throttled.warn(|suppressed| logged.push(suppressed));
        }
        assert_eq!(logged, [0]);
        assert_eq!(throttled.suppressed, 4);
    }
}

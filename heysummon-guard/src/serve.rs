//! Serving the guard: hyper's HTTP/1.1 connection directly on each accepted socket (little
//! memory per connection), until a cancellation token fires; then in-flight requests finish.

use std::convert::Infallible;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proxy::Guard;

/// Serves `guard` on a bound listener until `shutdown` is cancelled; then stops accepting, lets
/// in-flight requests finish (open event streams end when the upstream ends them or the agent
/// disconnects), and returns.
pub async fn serve(
    listener: TcpListener,
    guard: Guard,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true);
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let guard = guard.clone();
        let service = service_fn(move |request| {
            let guard = guard.clone();
            async move { Ok::<_, Infallible>(guard.handle(request).await) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

//! The guard benchmark's upstream: a minimal hyper HTTP/1.1 server answering every request with
//! a 30-byte JSON body and counting accepted connections and requests (`GET /__stats`). With a
//! TLS folder it serves HTTPS instead: it makes a test CA (`tests/guard/tls_front.rs`), writes
//! the CA certificate to `DIR/ca.pem` for the guard's `--ca-file`, and presents a certificate
//! for `localhost` and 127.0.0.1; a connection is then counted once its TLS handshake completes.
//!
//! It prints `PORT n m` on stdout once listening (after `ca.pem` is written): `n` the port it
//! serves on, `m` where to read `/__stats` over plain HTTP (`n` itself without TLS, else a
//! second listener whose connections are not counted).

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::tls_front::TestCa;

/// Connections and requests seen.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
}

/// Serves until killed, on `runtime`, over TLS when `tls_dir` is given.
pub(crate) fn run(runtime: &tokio::runtime::Runtime, tls_dir: Option<&Path>) {
    let acceptor = tls_dir.map(|dir| {
        let ca = TestCa::new();
        ca.write_pem(dir);
        tokio_rustls::TlsAcceptor::from(ca.server_config(&["localhost", "127.0.0.1"]))
    });
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let stats_port = if acceptor.is_some() {
            let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let stats_port = plain.local_addr().unwrap().port();
            let stats = stats.clone();
            tokio::spawn(async move {
                loop {
                    let (stream, _) = plain.accept().await.unwrap();
                    let service = service(stats.clone());
                    tokio::spawn(
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service),
                    );
                }
            });
            stats_port
        } else {
            port
        };
        println!("PORT {port} {stats_port}");
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (stats, acceptor) = (stats.clone(), acceptor.clone());
            tokio::spawn(async move {
                let builder = hyper::server::conn::http1::Builder::new();
                let service = service(stats.clone());
                match acceptor {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        stats.connections.fetch_add(1, Ordering::Relaxed);
                        let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                    }
                    None => {
                        stats.connections.fetch_add(1, Ordering::Relaxed);
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
}

/// The one service: the fixed answer, or the counters at `/__stats`.
fn service(
    stats: Arc<Stats>,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let stats = stats.clone();
        async move {
            let is_stats = request.uri().path() == "/__stats";
            let _ = request.into_body().collect().await;
            let body = if is_stats {
                Bytes::from(format!(
                    "{{\"connections\":{},\"requests\":{}}}",
                    stats.connections.load(Ordering::Relaxed),
                    stats.requests.load(Ordering::Relaxed)
                ))
            } else {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                Bytes::from_static(b"{\"ok\":true,\"id\":\"bench-0001\"}")
            };
            let response = Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(body))
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    })
}

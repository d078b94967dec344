//! Serving the guard: hyper's HTTP/1.1 connection directly on each accepted socket (little
//! memory per connection), until a cancellation token fires; then in-flight requests finish.
//!
//! [`serve`] runs on the caller's runtime; [`spawn_threads`] serves one listener thread-per-core:
//! one OS thread per guard, each with its own current-thread runtime, accept loop and connection
//! pools, so a request never hops between threads.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::proxy::Guard;

/// How long requests in flight may take to finish after a shutdown began; then their
/// connections are closed.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers, or stay idle between requests.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Refusals answered at once at most; beyond, a connection is closed without an answer.
const MAX_REFUSALS: usize = 64;
/// At most one warning per this interval about failing accepts or refused connections.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// The body of the answer to a connection beyond the cap.
const AT_CAPACITY_BODY: &str = "{\"error\":\"The guard is at its connection limit; try again \
    shortly\",\"code\":\"CONNECTION_LIMIT\"}";

/// Serves `guard` on a bound listener until `shutdown` is cancelled; then stops accepting, lets
/// in-flight requests finish (open event streams end when the upstream ends them or the agent
/// disconnects) for at most 10 s, and returns. At most `limits.max_connections` connections are
/// served at once; more are answered 503 and closed.
pub async fn serve(
    listener: TcpListener,
    guard: Guard,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let capacity = Arc::new(Semaphore::new(guard.config().limits.max_connections));
    serve_within(listener, guard, shutdown, capacity).await
}

/// [`serve`] within a connection budget shared with other serving threads.
async fn serve_within(
    listener: TcpListener,
    guard: Guard,
    shutdown: CancellationToken,
    capacity: Arc<Semaphore>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let mut last_warning: Option<Instant> = None;
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    if warn_now(&mut last_warning) {
                        tracing::warn!(%error, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&capacity).try_acquire_owned() else {
            if warn_now(&mut last_warning) {
                tracing::warn!("connection limit reached; refusing connections");
            }
            if let Ok(refusing) = Arc::clone(&refusals).try_acquire_owned() {
                connections.spawn(async move {
                    refuse(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let guard = guard.clone();
        let service = service_fn(move |request| {
            let guard = guard.clone();
            async move { Ok::<_, Infallible>(guard.handle(request).await) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("closing the connections still open after the drain time");
    }
    connections.shutdown().await;
    Ok(())
}

/// Whether a throttled warning may be logged now (at most one per [`WARN_EVERY`]).
fn warn_now(last: &mut Option<Instant>) -> bool {
    if last.is_some_and(|at| at.elapsed() < WARN_EVERY) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

/// Answers a connection beyond the cap with a JSON 503 and closes it, once the agent has sent
/// its request head (or a second has passed): HTTP clients do not expect an answer before.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{AT_CAPACITY_BODY}",
        AT_CAPACITY_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// The listen backlog of the sockets the guard binds itself (tokio's default for `bind`).
const LISTEN_BACKLOG: u32 = 1024;

/// The serving threads started by [`spawn_threads`].
#[derive(Debug)]
pub struct Threads {
    handles: Vec<JoinHandle<io::Result<()>>>,
}

impl Threads {
    /// How many threads serve.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether no thread serves.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Waits until every thread has ended (after the shutdown token is cancelled and each
    /// thread's in-flight requests are done).
    ///
    /// # Errors
    /// The first thread's error, in thread order; a panicked thread is an error too.
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for handle in self.handles {
            let ended = handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a serving thread panicked")));
            if result.is_ok() {
                result = ended;
            }
        }
        result
    }
}

/// Serves `listener` thread-per-core: one OS thread per guard, each running a current-thread
/// tokio runtime with its own accept loop on (a clone of) the same socket and [`serve`]'s
/// graceful shutdown, all stopped by the one `shutdown` token. Returns once the threads are
/// started; [`Threads::join`] waits for them.
///
/// Give each thread its own guard, made with [`Guard::new_sharing`] and not used on any other
/// runtime before (a guard's connection pools belong to the runtime that first uses them), so
/// that the guards have their own connection pools but share the ask API's deadlines and the
/// key store. A thread that ends for any reason (an error, a panic) cancels `shutdown`, so the
/// others stop too rather than serve on with fewer threads.
///
/// # Errors
/// When the listener cannot be made non-blocking or cloned, or a thread cannot be started; the
/// threads already started are then stopped and joined.
pub fn spawn_threads(
    listener: std::net::TcpListener,
    guards: Vec<Guard>,
    shutdown: CancellationToken,
) -> io::Result<Threads> {
    listener.set_nonblocking(true)?;
    let capacity = Arc::new(Semaphore::new(
        guards
            .first()
            .map_or(0, |guard| guard.config().limits.max_connections),
    ));
    let mut threads = Threads {
        handles: Vec::with_capacity(guards.len()),
    };
    for (index, guard) in guards.into_iter().enumerate() {
        let spawned = listener.try_clone().and_then(|listener| {
            let shutdown = shutdown.clone();
            let capacity = Arc::clone(&capacity);
            std::thread::Builder::new()
                .name(format!("heysummon-guard-{index}"))
                .spawn(move || serve_thread(listener, index > 0, guard, shutdown, capacity))
        });
        match spawned {
            Ok(handle) => threads.handles.push(handle),
            Err(error) => {
                shutdown.cancel();
                // The error that matters is this one; the started threads just stop.
                let _ = threads.join();
                return Err(error);
            }
        }
    }
    Ok(threads)
}

/// Binds `addr` as the first socket of an `SO_REUSEPORT` group (on Unix), which the other
/// serving threads of [`spawn_threads`] join with sockets of their own: the kernel then hands
/// each new connection to one thread, evenly, rather than waking every accept loop. (Only
/// sockets of the same user can join the group.) Call it on a tokio runtime.
///
/// # Errors
/// When the socket cannot be made or bound.
pub fn bind_shared(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// One serving thread: a current-thread runtime around [`serve`]. A thread other than the
/// first joins the listener's `SO_REUSEPORT` group with a socket of its own when it can (see
/// [`bind_shared`]), and otherwise accepts on its clone of the listener.
fn serve_thread(
    listener: std::net::TcpListener,
    join_group: bool,
    guard: Guard,
    shutdown: CancellationToken,
    capacity: Arc<Semaphore>,
) -> io::Result<()> {
    // However this thread ends, the others stop too.
    let _stop_all = shutdown.clone().drop_guard();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let own = if join_group {
            listener.local_addr().and_then(bind_shared).ok()
        } else {
            None
        };
        let listener = match own {
            Some(own) => {
                drop(listener);
                own
            }
            None => TcpListener::from_std(listener)?,
        };
        serve_within(listener, guard, shutdown, capacity).await
    })
}

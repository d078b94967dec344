//! Single calls against the stub: keys, ids, long-poll holds, errors, turns for requests in
//! flight, and what the builder refuses.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{KEY, Stub, client, serve};
use crate::Error;
use crate::client::{Client, WaitOptions};
use crate::wire::{RequestId, Status};

#[tokio::test]
async fn status_sends_the_key_and_encodes_the_id() {
    let (base, stub) = serve(Stub::default(), false).await;
    let status = client(&base, KEY)
        .status(&RequestId::new("a/b c"))
        .await
        .unwrap();
    assert_eq!(status.status, Status::Pending);
    assert_eq!(status.request_id.as_str(), "a/b c");
    assert_eq!(*stub.help.lock().unwrap(), [("a/b c".to_owned(), None)]);

    let error = client(&base, "hs_cli_wrong")
        .status(&RequestId::new("r1"))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    assert!(!error.is_retryable());
    assert_eq!(error.to_string(), "HTTP 401: Invalid or inactive API key");
}

#[tokio::test]
async fn long_polls_ask_for_at_most_50_seconds() {
    let (base, stub) = serve(Stub::default(), false).await;
    let client = client(&base, KEY);
    client
        .long_poll(&RequestId::new("r1"), Duration::from_secs(120))
        .await
        .unwrap();
    client
        .long_poll(&RequestId::new("r1"), Duration::from_millis(7_900))
        .await
        .unwrap();
    let queries = stub.queries();
    assert_eq!(
        queries,
        [Some("wait=50".to_owned()), Some("wait=7".to_owned())]
    );
}

#[tokio::test]
async fn rate_limits_are_retryable_and_carry_retry_after() {
    let (base, _stub) = serve(Stub::default(), false).await;
    let error = client(&base, KEY)
        .status(&RequestId::new("limited"))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(429));
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn connection_failures_are_retryable_network_errors() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = client(&format!("http://{address}"), KEY)
        .status(&RequestId::new("r1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Network {
                kind: crate::NetworkErrorKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn requests_take_turns_but_a_long_poll_does_not_hold_one() {
    let stub = Stub {
        status_delay: Duration::from_millis(20),
        hold_long_polls: true,
        ..Stub::default()
    };
    let (base, stub) = serve(stub, false).await;
    let client = Client::builder()
        .base_url(&base)
        .api_key(KEY)
        .concurrent_requests(3)
        .build()
        .unwrap();
    let reads = (0..12).map(|n| {
        let client = client.clone();
        tokio::spawn(async move { client.status(&RequestId::new(format!("r{n}"))).await })
    });
    for read in futures_util::future::join_all(reads).await {
        read.unwrap().unwrap();
    }
    assert_eq!(stub.most_status_in_flight.load(Ordering::SeqCst), 3);

    // With one turn only, a long-poll in flight leaves it to an ordinary call.
    let single = Client::builder()
        .base_url(&base)
        .api_key(KEY)
        .concurrent_requests(1)
        .build()
        .unwrap();
    let polling = {
        let single = single.clone();
        tokio::spawn(async move {
            single
                .long_poll(&RequestId::new("held"), Duration::from_secs(1))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    tokio::time::timeout(
        Duration::from_millis(500),
        single.status(&RequestId::new("r1")),
    )
    .await
    .expect("the long-poll held the only turn")
    .unwrap();
    polling.await.unwrap().unwrap();
}

#[test]
fn debug_never_shows_the_key() {
    let client = client("http://127.0.0.1:9", KEY);
    let shown = format!("{client:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
    let builder = Client::builder().api_key(KEY);
    assert!(!format!("{builder:?}").contains(KEY));
}

#[test]
fn builder_refuses_what_cannot_work() {
    let config = |result: Result<Client, Error>| matches!(result, Err(Error::Config { .. }));
    assert!(config(Client::builder().api_key(KEY).build()));
    assert!(config(Client::builder().base_url("http://h").build()));
    assert!(config(
        Client::builder().base_url("ftp://h").api_key(KEY).build()
    ));
    assert!(config(
        Client::builder()
            .base_url("http://h/?x=1")
            .api_key(KEY)
            .build()
    ));
    assert!(config(
        Client::builder()
            .base_url("http://h")
            .api_key("a\nb")
            .build()
    ));
    assert!(config(
        Client::builder()
            .base_url("http://h")
            .api_key(KEY)
            .concurrent_requests(0)
            .build()
    ));
    let prefixed = client("https://example.com/heysummon", KEY);
    let url = prefixed.inner.endpoint(&["help", "r1"]);
    assert_eq!(url.as_str(), "https://example.com/heysummon/api/v1/help/r1");
}

#[test]
fn the_wait_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = client("http://127.0.0.1:9", KEY);
    let id = RequestId::new("r1");
    let wait = client.wait(&id, WaitOptions::default());
    assert_send(&wait);
}

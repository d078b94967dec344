//! What must hold across instances: replays, idempotent retries and per-key rate limits.

use crate::cluster::*;
use crate::common::signed::Req;
use crate::common::sse::assert_events_in;
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::signing::RequestSigner;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// A signed request accepted by A is refused by B when replayed byte for byte, and creates
/// nothing there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_accepted_by_one_instance_is_a_replay_on_the_other() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };
    let key = c.client_key.clone();
    let device = RequestSigner::new(SigningKeyPair::generate());
    let enroll = Req::post(
        "/api/v1/devices",
        &key,
        &json!({"publicKey": device.public_key().to_hex()}),
    );
    let resp = enroll.send(&(&c, &c.a)).await;
    assert_eq!(resp.status, StatusCode::OK, "enroll on A: {}", resp.text);
    assert_eq!(resp.body["deviceId"], device.device_id(), "{}", resp.text);

    // B knows the enrollment: unsigned requests with the key are refused there too.
    let resp = Req::ask(&key, "unsigned on B").send(&(&c, &c.b)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{}", resp.text);
    assert_eq!(resp.body["code"], "SIGNATURE_REQUIRED", "{}", resp.text);

    let signed = Req::ask(&key, &format!("only once {}", unique())).signed(&device, now_ms());
    let resp = signed.send(&(&c, &c.a)).await;
    assert_eq!(resp.status, StatusCode::OK, "signed on A: {}", resp.text);
    let id = resp.id();

    let replay = signed.send(&(&c, &c.b)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "the replay on B was not refused: {}",
        replay.text
    );
    assert_eq!(
        replay.body["code"], "SIGNATURE_REPLAYED",
        "replay on B: {}",
        replay.text
    );
    assert!(!replay.text.contains(&key), "key leaked: {}", replay.text);
    // And on A, for completeness.
    let again = signed.send(&(&c, &c.a)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);
    assert_eq!(again.body["code"], "SIGNATURE_REPLAYED", "{}", again.text);

    for on in [&c.a, &c.b] {
        let ids = c.listing(on).await;
        assert_eq!(
            ids,
            std::slice::from_ref(&id),
            "requests seen through {}",
            on.name
        );
    }

    // A fresh signature is accepted by B: it refused the replay, not the device.
    let fresh = Req::ask(&key, "signed again, on B").signed(&device, now_ms());
    let resp = fresh.send(&(&c, &c.b)).await;
    assert_eq!(resp.status, StatusCode::OK, "fresh on B: {}", resp.text);
    let replay = fresh.send(&(&c, &c.a)).await;
    assert_eq!(
        replay.body["code"], "SIGNATURE_REPLAYED",
        "B's nonce replayed on A: {}",
        replay.text
    );
    assert_eq!(c.listing(&c.a).await.len(), 2);
}

/// An idempotent creation sent to A and retried against B returns the same request, and one
/// request exists; concurrent sends of one key to both instances create one request too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_creation_retried_on_the_other_instance_is_the_same_request() {
    let Some(c) = Cluster::start(&[]).await else {
        return;
    };
    let mut expert_on_b = open_stream(&c, &c.b, STREAM, &c.expert_key, None).await;
    let idempotency = format!("retry-{}", unique());
    let create =
        Req::ask(&c.client_key, "once, whatever instance").header("idempotency-key", &idempotency);
    let first = create.send(&(&c, &c.a)).await;
    assert_eq!(first.status, StatusCode::OK, "on A: {}", first.text);
    let id = first.id();
    let retried = create.send(&(&c, &c.b)).await;
    assert_eq!(
        retried.status,
        StatusCode::OK,
        "retried on B: {}",
        retried.text
    );
    assert_eq!(
        retried.text, first.text,
        "the retry on B does not return A's answer byte for byte"
    );
    let again = create.send(&(&c, &c.a)).await;
    assert_eq!(again.text, first.text, "a second retry, on A");

    for on in [&c.a, &c.b] {
        let ids = c.listing(on).await;
        assert_eq!(
            ids,
            std::slice::from_ref(&id),
            "requests seen through {}",
            on.name
        );
    }
    // The expert was told once.
    let events = expert_on_b.until("new_request", &id).await;
    assert_events_in(&events, 0, &[("new_request", &id)], "expert's stream on B");
    expert_on_b
        .assert_quiet_in("a retried creation appended an event")
        .await;

    // The same key sent to both at once: one creation, one answer for both.
    let mut created = vec![id];
    for round in 0..5 {
        let idempotency = format!("race-{round}-{}", unique());
        let create = Req::ask(&c.client_key, &format!("race {round}"))
            .header("idempotency-key", &idempotency);
        let (to_a, to_b) = ((&c, &c.a), (&c, &c.b));
        let (on_a, on_b) = tokio::join!(create.send(&to_a), create.send(&to_b));
        assert_eq!(
            on_a.status,
            StatusCode::OK,
            "race {round} on A: {}",
            on_a.text
        );
        assert_eq!(
            on_b.status,
            StatusCode::OK,
            "race {round} on B: {}",
            on_b.text
        );
        assert_eq!(
            on_a.text, on_b.text,
            "race {round}: the instances answered differently"
        );
        created.push(on_a.id());
    }
    let ids = c.listing(&c.b).await;
    created.sort();
    assert_eq!(ids, created, "one request per idempotency key");
}

/// The per-key limit counts requests on both instances together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_key_rate_limit_holds_across_instances() {
    let Some(c) = Cluster::start(&[("HEYSUMMON_RATE_LIMIT_PER_KEY", "10")]).await else {
        return;
    };
    // The limit counts in fixed 60 s windows of the clock: start early in one, so the twelve
    // requests all fall in it.
    let into_window = now_ms().rem_euclid(60_000);
    if into_window > 50_000 {
        let left = u64::try_from(60_000 - into_window).unwrap() + 50;
        tokio::time::sleep(Duration::from_millis(left)).await;
    }
    let started = now_ms();
    let mut statuses = Vec::new();
    for (n, on) in std::iter::repeat_n(&c.a, 6)
        .chain(std::iter::repeat_n(&c.b, 6))
        .enumerate()
    {
        let resp = Req::ask(&c.client_key, &format!("request {}", n + 1))
            .send(&(&c, on))
            .await;
        if n < 10 {
            assert_eq!(
                resp.status,
                StatusCode::OK,
                "request {} (on {}) is within the limit: {}",
                n + 1,
                on.name,
                resp.text
            );
        } else {
            assert_eq!(
                resp.status,
                StatusCode::TOO_MANY_REQUESTS,
                "request {} (on {}) is over the limit of 10 across both instances: {}",
                n + 1,
                on.name,
                resp.text
            );
            assert_eq!(
                resp.body["error"], "Per-key rate limit exceeded",
                "{}",
                resp.text
            );
            assert_eq!(
                resp.headers.get("retry-after").map(|v| v.to_str().unwrap()),
                Some("60"),
                "{:?}",
                resp.headers
            );
        }
        statuses.push((on.name, resp.status.as_u16()));
    }
    assert_eq!(
        started.div_euclid(60_000),
        now_ms().div_euclid(60_000),
        "the requests straddled a window; the test should have waited"
    );
    eprintln!("statuses: {statuses:?}");
    assert_eq!(c.listing(&c.a).await.len(), 10, "ten requests were created");
}

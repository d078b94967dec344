//! Operational metrics, in Prometheus' text format at `GET /metrics` (names prefixed
//! `heysummon_`), recorded with the `metrics` crate and exported by
//! `metrics-exporter-prometheus`. The recorder is the process's global one: a process runs one
//! server (tests that run several share it, so they look at increases, not absolute values).
//!
//! Every metric is named here, once; the code that observes something calls a function below.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests created, by kind (`question`, `approval`, `notification`).
const CREATED: &str = "heysummon_requests_created_total";
/// Requests that reached a final status, by kind and status.
const FINISHED: &str = "heysummon_requests_finished_total";
/// Seconds from creation to the expert's first response.
const FIRST_RESPONSE: &str = "heysummon_first_response_seconds";
/// Requests waiting for the expert (pending, reviewing, active), read at each scrape.
const WAITING: &str = "heysummon_requests_waiting";
/// Open event streams (SSE and Mercure).
const STREAMS: &str = "heysummon_event_streams_open";
/// Long-polls being held.
const LONG_POLLS: &str = "heysummon_long_polls_open";
/// Events appended to the log and published.
const EVENTS: &str = "heysummon_events_appended_total";
/// Seconds a group commit of the store's writer took, from BEGIN to COMMIT.
const COMMIT: &str = "heysummon_store_commit_seconds";
/// Requests refused by a rate limit, by bucket (`ip`, `poll`, `key`, `events`).
const RATE_LIMITED: &str = "heysummon_rate_limited_total";
/// Signed requests refused, by reason.
const SIGNATURE_REJECTED: &str = "heysummon_signature_rejections_total";
/// Channel delivery attempts, by channel kind and outcome (`delivered`, `failed`).
const CHANNEL_DELIVERIES: &str = "heysummon_channel_deliveries_total";
/// Connections refused at the connection cap.
const CONNECTIONS_REFUSED: &str = "heysummon_connections_refused_total";

/// Response-time buckets, seconds: a minute to a few days.
const FIRST_RESPONSE_BUCKETS: &[f64] = &[
    10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14_400.0, 86_400.0, 259_200.0,
];
/// Commit-time buckets, seconds.
const COMMIT_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder (once per process); `None` when another recorder was installed
/// first (metrics are then not served).
pub(crate) fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(FIRST_RESPONSE.into()),
                    FIRST_RESPONSE_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(COMMIT.into()), COMMIT_BUCKETS)
                });
            match built.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => Some(handle),
                Ok(Err(error)) | Err(error) => {
                    tracing::warn!(%error, "metrics are not recorded");
                    None
                }
            }
        })
        .as_ref()
}

/// The text exposition of every metric, with the gauges read at scrape time set first.
pub(crate) fn render(waiting: u64) -> Option<String> {
    let handle = install()?;
    gauge!(WAITING).set(waiting as f64);
    handle.run_upkeep();
    Some(handle.render())
}

/// Folds recorded histogram samples into their buckets; run every few seconds, so memory does
/// not grow when nobody scrapes.
pub(crate) fn upkeep() {
    if let Some(handle) = install() {
        handle.run_upkeep();
    }
}

/// A request was created.
pub(crate) fn request_created(kind: &'static str) {
    counter!(CREATED, "kind" => kind).increment(1);
}

/// A request reached a final status.
pub(crate) fn request_finished(kind: &'static str, status: &str) {
    counter!(FINISHED, "kind" => kind, "status" => status.to_owned()).increment(1);
}

/// The expert answered for the first time, `after` the request was created.
pub(crate) fn first_response(after: Duration) {
    histogram!(FIRST_RESPONSE).record(after.as_secs_f64());
}

/// Appended events were published.
pub(crate) fn events_appended(count: usize) {
    counter!(EVENTS).increment(count as u64);
}

/// A group commit took `took`.
pub(crate) fn commit(took: Duration) {
    histogram!(COMMIT).record(took.as_secs_f64());
}

/// A rate limit refused a request.
pub(crate) fn rate_limited(bucket: &'static str) {
    counter!(RATE_LIMITED, "bucket" => bucket).increment(1);
}

/// A signed request was refused.
pub(crate) fn signature_rejected(reason: &'static str) {
    counter!(SIGNATURE_REJECTED, "reason" => reason).increment(1);
}

/// A channel delivery was attempted.
pub(crate) fn channel_delivery(kind: &str, outcome: &'static str) {
    counter!(CHANNEL_DELIVERIES, "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

/// A connection was refused at the cap.
pub(crate) fn connection_refused() {
    counter!(CONNECTIONS_REFUSED).increment(1);
}

/// What an open stream or long-poll counts as; dropping it counts it closed.
#[derive(Debug)]
pub(crate) struct Open(&'static str);

impl Open {
    /// An event stream opened.
    pub(crate) fn stream() -> Self {
        gauge!(STREAMS).increment(1.0);
        Self(STREAMS)
    }

    /// A long-poll started waiting.
    pub(crate) fn long_poll() -> Self {
        gauge!(LONG_POLLS).increment(1.0);
        Self(LONG_POLLS)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        gauge!(self.0).decrement(1.0);
    }
}

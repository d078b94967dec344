//! The fakes' own tests: each driven the way the server drives it (reqwest, raw SMTP).

mod discord;
mod slack;
mod smtp;
mod telegram;
mod webhook;

use std::time::Duration;

/// Long enough for a loopback round trip on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

/// POSTs `body` as JSON to `url` with optional `Authorization`; the status and JSON answer.
async fn post_json(
    url: &str,
    authorization: Option<&str>,
    body: &serde_json::Value,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

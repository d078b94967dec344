//! The way back: the upstream's response streamed to the agent with its hop-by-hop headers
//! dropped, or, for a message listing the guard must open, read, authenticated and decrypted;
//! and the refusals for an upstream that failed.

use heysummon_sdk::client::Conversation;
use heysummon_sdk::wire::HelpStatusResponse;
use http_body_util::{BodyExt as _, Either, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::{Response, StatusCode};

use super::Guard;
use crate::hop;
use crate::response::{ProxyBody, Refusal, own_body};
use crate::upstream::UpstreamError;

/// An answer the guard reads before the agent gets it.
pub(super) enum Inspect {
    /// `GET /messages/:id` of a request the guard made: decrypted for the agent.
    Listing(Conversation),
    /// `GET /help/:id` of a request the guard made: its decision checked (PROTOCOL H4), so that
    /// an agent without cryptography never sees an approval the expert did not sign.
    Status(Conversation),
}

/// The largest `GET /messages` answer the guard reads to decrypt (the server's requests are
/// capped at 1 MiB each; a conversation may hold several).
const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;

impl Guard {
    /// The upstream's `response` for the agent: streamed through, or, when the guard looked up
    /// the request's `listing` to open it, the listing read and decrypted.
    pub(super) async fn pass_back(
        &self,
        response: Response<Incoming>,
        inspect: Option<Inspect>,
    ) -> Result<Response<ProxyBody>, Refusal> {
        let inner = &*self.inner;
        let (mut parts, body) = response.into_parts();
        hop::strip(&mut parts.headers);
        if let Some(inspect) = inspect.filter(|_| parts.status == StatusCode::OK) {
            let read = Limited::new(body, MAX_LISTING_BYTES).collect();
            let listed = tokio::time::timeout(inner.config.limits.upstream_timeout, read)
                .await
                .map_err(|_| upstream_refusal(UpstreamError::Timeout))?
                .map_err(|_| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "The HeySummon server's answer could not be read",
                    )
                })?
                .to_bytes();
            let conversation = match inspect {
                Inspect::Status(conversation) => {
                    check_status(&conversation, &listed)?;
                    return Ok(Response::from_parts(parts, own_body(listed)));
                }
                Inspect::Listing(conversation) => conversation,
            };
            // Never pass on a listing the guard could not authenticate: its `plaintext` members
            // would look like the guard's own.
            let opened = inner
                .e2e
                .open_listing(&conversation, &listed)
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "message could not be authenticated",
                    )
                })?;
            parts.headers.remove(CONTENT_LENGTH);
            return Ok(Response::from_parts(parts, own_body(opened)));
        }
        Ok(Response::from_parts(parts, Either::Left(body)))
    }
}

/// Refuses a status whose decision the expert did not sign as the agent's policy requires: the
/// agent behind the guard cannot check it itself.
fn check_status(conversation: &Conversation, body: &[u8]) -> Result<(), Refusal> {
    let Ok(status) = serde_json::from_slice::<HelpStatusResponse>(body) else {
        return Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "The HeySummon server's answer could not be read",
        ));
    };
    match conversation.check_decision(&status) {
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::warn!(request = %status.request_id, %error, "refused an unverified decision");
            Err(crate::ask::AskError::from(error).into())
        }
    }
}

pub(super) fn upstream_refusal(error: UpstreamError) -> Refusal {
    match error {
        UpstreamError::Connect => Refusal::new(
            StatusCode::BAD_GATEWAY,
            "Could not connect to the HeySummon server",
        ),
        UpstreamError::Tls(reason) => {
            tracing::warn!(%reason, "TLS handshake with the upstream failed");
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "Could not establish a trusted TLS connection to the HeySummon server",
            )
        }
        UpstreamError::Timeout => Refusal::new(
            StatusCode::GATEWAY_TIMEOUT,
            "The HeySummon server did not answer in time",
        ),
        UpstreamError::Failed(reason) => {
            tracing::warn!(%reason, "upstream request failed");
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "The connection to the HeySummon server failed",
            )
        }
    }
}

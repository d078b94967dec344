//! `GET /api/requests/{id}/audit`: the audit log's entries about one of the signed-in expert's
//! requests (its decision, its end), oldest first. Another expert's request answers exactly
//! like a missing one.

use axum::extract::{Path, State};
use axum::response::Response;
use heysummon_sdk::wire::Timestamp;
use serde::Serialize;
use serde_json::json;

use super::session::SignedIn;
use crate::audit::AuditEntry;
use crate::clock::timestamp;
use crate::error::ApiResult;
use crate::lifecycle::Viewer;
use crate::routes::{ok, request_or_404};
use crate::state::AppState;

/// An entry as the dashboard shows it: the facts and the hash, not the signature.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryView {
    seq: i64,
    created_at: Timestamp,
    kind: String,
    actor: String,
    details: serde_json::Value,
    hash: String,
}

impl EntryView {
    fn of(entry: AuditEntry) -> Self {
        Self {
            seq: entry.seq,
            created_at: timestamp(entry.created_at),
            kind: entry.kind,
            actor: entry.actor,
            // Written by the server as an object; anything else shows as nothing.
            details: serde_json::from_str(&entry.details).unwrap_or_else(|_| json!({})),
            hash: entry.hash,
        }
    }
}

/// `GET /api/requests/{id}/audit`.
pub(crate) async fn request_entries(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let request = request_or_404(&state, Viewer::Expert(&signed_in.expert.id), &id).await?;
    let entries: Vec<EntryView> = state
        .store
        .audit_entries_about(&request.id)
        .await?
        .into_iter()
        .map(EntryView::of)
        .collect();
    Ok(ok(json!({ "entries": entries })))
}

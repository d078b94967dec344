//! `GET /api/requests/{id}/audit`: the audit log's entries about one of the signed-in expert's
//! requests (its decision, its end), oldest first. Another expert's request answers exactly
//! like a missing one.

use axum::extract::{Path, State};
use axum::response::Response;
use heysummon_sdk::wire::Timestamp;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::session::SignedIn;
use crate::app::openapi::Failure;
use crate::audit::AuditEntry;
use crate::clock::timestamp;
use crate::error::ApiResult;
use crate::lifecycle::Viewer;
use crate::routes::{ok, request_or_404};
use crate::state::AppState;

/// An entry as the dashboard shows it: the facts and the hash, not the signature.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EntryView {
    seq: i64,
    created_at: Timestamp,
    kind: String,
    actor: String,
    #[schema(value_type = Object)]
    details: serde_json::Value,
    hash: String,
}

/// The entries about a request.
#[derive(Serialize, ToSchema)]
struct Entries {
    entries: Vec<EntryView>,
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
#[utoipa::path(get, path = "/api/requests/{id}/audit", tag = "dashboard", security(("session" = [])),
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The audit log's entries about the request, oldest first", body = Entries), Failure),
)]
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
    Ok(ok(Entries { entries }))
}

//! The session API (PROTOCOL E3): who is signed in, their sessions, and their requests as the
//! inbox shows them. Every route answers 401 without a session; state-changing ones need the
//! CSRF token.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use heysummon_sdk::wire::{MessagesResponse, RequestSummary, Sender, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::session::{SignedIn, clear_cookie, not_signed_in};
use crate::app::openapi::{Csrf, Failure};
use crate::auth::Caller;
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::lifecycle::Viewer;
use crate::routes::{messages::conversation, ok, request_or_404};
use crate::state::AppState;
use crate::store::{InboxItem, RequestRecord};

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let signed_in = state
            .session(&parts.headers)
            .await?
            .ok_or_else(not_signed_in)?;
        signed_in.check_csrf(&parts.method, &parts.headers)?;
        Ok(signed_in)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Me<'a> {
    expert: super::signin::ExpertRef<'a>,
    csrf_token: &'a str,
    published_keys: Option<PublishedKeys<'a>>,
    session: SessionView,
}

#[derive(Serialize, ToSchema)]
struct PublishedKeys<'a> {
    fingerprint: &'a str,
}

/// `GET /api/me`.
#[utoipa::path(get, path = "/api/me", tag = "dashboard", security(("session" = [])),
    responses((status = 200, description = "The signed-in expert and this session", body = Me<'_>), Failure),
)]
pub(crate) async fn me(signed_in: SignedIn) -> Response {
    let expert = &signed_in.expert;
    ok(Me {
        expert: super::signin::ExpertRef {
            id: &expert.id,
            name: &expert.name,
        },
        csrf_token: signed_in.csrf_token(),
        published_keys: expert
            .fingerprint
            .as_deref()
            .map(|fingerprint| PublishedKeys { fingerprint }),
        session: SessionView::of(&signed_in.session, true),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rename {
    /// 1 to 100 characters, no control characters.
    name: String,
}

/// `PATCH /api/me` `{"name"}`: renames the expert.
#[utoipa::path(patch, path = "/api/me", tag = "dashboard", security(("session" = [])),
    params(Csrf), request_body = Rename,
    responses((status = 200, description = "Renamed; the signed-in expert", body = Me<'_>), Failure),
)]
pub(crate) async fn rename(
    State(state): State<AppState>,
    mut signed_in: SignedIn,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let body: Rename = req.json()?;
    let name = super::display_name(&body.name)?;
    state
        .store
        .rename_expert(&signed_in.expert.id, name)
        .await?;
    signed_in.expert.name = name.to_owned();
    Ok(me(signed_in).await)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    id: String,
    created_at: Timestamp,
    last_seen_at: Timestamp,
    expires_at: Timestamp,
    user_agent: Option<String>,
    current: bool,
}

impl SessionView {
    fn of(s: &crate::store::SessionRecord, current: bool) -> Self {
        Self {
            id: s.id.clone(),
            created_at: timestamp(s.created_at),
            last_seen_at: timestamp(s.last_seen_at),
            expires_at: timestamp(s.ends_at()),
            user_agent: s.user_agent.clone(),
            current,
        }
    }
}

/// The expert's live sessions.
#[derive(Serialize, ToSchema)]
struct Sessions {
    sessions: Vec<SessionView>,
}

/// How many sessions were ended.
#[derive(Serialize, ToSchema)]
struct Ended {
    ended: u64,
}

/// `GET /api/sessions`: the expert's sessions, most recently used first.
#[utoipa::path(get, path = "/api/sessions", tag = "dashboard", security(("session" = [])),
    responses((status = 200, description = "The expert's live sessions", body = Sessions), Failure),
)]
pub(crate) async fn sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let sessions: Vec<SessionView> = state
        .store
        .sessions_of(&signed_in.expert.id)
        .await?
        .iter()
        .filter(|s| s.is_live(now))
        .map(|s| SessionView::of(s, s.id == signed_in.session.id))
        .collect();
    Ok(ok(Sessions { sessions }))
}

/// `DELETE /api/sessions`: signs out everywhere, this browser included.
#[utoipa::path(delete, path = "/api/sessions", tag = "dashboard", security(("session" = [])),
    params(Csrf),
    responses((status = 200, description = "Every session ended; the cookie is cleared", body = Ended), Failure),
)]
pub(crate) async fn end_all_sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Response> {
    let ended = state
        .store
        .delete_sessions_of(&signed_in.expert.id, None)
        .await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(state.secure_cookies()))],
        axum::Json(Ended { ended }),
    )
        .into_response())
}

/// `DELETE /api/sessions/{id}`: ends one of the expert's sessions.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "dashboard", security(("session" = [])),
    params(("id" = String, Path, description = "The session id"), Csrf),
    responses((status = 200, description = "The session ended", body = Ended), Failure),
)]
pub(crate) async fn end_session(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ended = state
        .store
        .delete_sessions_of(&signed_in.expert.id, Some(id))
        .await?;
    if ended == 0 {
        return Err(ApiError::not_found("Session not found"));
    }
    Ok(ok(Ended { ended }))
}

/// A request as the inbox lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct InboxEntry {
    #[serde(flatten)]
    summary: RequestSummary,
    /// `question`, `approval` or `notification`.
    kind: &'static str,
    sealed: bool,
    client_key_name: Option<String>,
    response_count: u32,
}

impl InboxEntry {
    fn of(
        request: &RequestRecord,
        client_key_name: Option<String>,
        response_count: u32,
    ) -> ApiResult<Self> {
        Ok(Self {
            summary: crate::views::request_summary(request, true).ok_or_else(ApiError::internal)?,
            kind: kind_of(request),
            sealed: request.sealed,
            client_key_name,
            response_count,
        })
    }
}

/// `question`, `approval` or `notification`.
fn kind_of(request: &RequestRecord) -> &'static str {
    if !request.response_required {
        "notification"
    } else if request.requires_approval {
        "approval"
    } else {
        "question"
    }
}

mod inbox;

use inbox::{InboxParams, encode_cursor};

/// A page of the inbox.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct InboxPage {
    requests: Vec<InboxEntry>,
    /// The `cursor` of the next page; `null` on the last one.
    next_cursor: Option<String>,
}

/// `GET /api/requests?status=&ref=&cursor=&limit=`: the expert's requests, newest first.
#[utoipa::path(get, path = "/api/requests", tag = "dashboard", security(("session" = [])),
    params(
        ("status" = Option<String>, Query, description = "Comma-separated statuses to include"),
        ("ref" = Option<String>, Query, description = "Only the request with this reference code"),
        ("cursor" = Option<String>, Query, description = "The nextCursor of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
    ),
    responses((status = 200, description = "A page of the expert's requests", body = InboxPage), Failure),
)]
pub(crate) async fn requests(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(params): Query<InboxParams>,
) -> ApiResult<Response> {
    let query = params.query()?;
    let limit = query.limit as usize;
    let now = state.clock.now();
    let items = state.store.inbox(&signed_in.expert.id, query).await?;
    let next_cursor = (items.len() == limit)
        .then(|| items.last().map(|item| encode_cursor(&item.request)))
        .flatten();
    let mut requests = Vec::with_capacity(items.len());
    for InboxItem {
        request,
        client_key_name,
        response_count,
    } in items
    {
        // Lazy expiry: the inbox never shows a dead request as live.
        let Some(request) = crate::lifecycle::expire_if_due(&state.store, request, now).await?
        else {
            continue;
        };
        requests.push(InboxEntry::of(&request, client_key_name, response_count)?);
    }
    Ok(ok(InboxPage {
        requests,
        next_cursor,
    }))
}

#[derive(Serialize, ToSchema)]
struct RequestPage {
    request: InboxEntry,
    /// Whether the decision carries the expert's signature (PROTOCOL H4).
    #[serde(rename = "decisionSigned")]
    decision_signed: bool,
    #[serde(flatten)]
    conversation: MessagesResponse,
}

/// `GET /api/requests/{id}`: one request with its conversation (as `GET /api/v1/messages/:id`).
/// Someone else's request answers exactly like a missing one.
#[utoipa::path(get, path = "/api/requests/{id}", tag = "dashboard", security(("session" = [])),
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The request and its conversation", body = RequestPage), Failure),
)]
pub(crate) async fn request(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let expert = signed_in.expert;
    let record = request_or_404(&state, Viewer::Expert(&expert.id), &id).await?;
    let key_name = state
        .store
        .client_keys_of(&expert.id)
        .await?
        .into_iter()
        .find(|key| key.id == record.client_key_id)
        .and_then(|key| key.name);
    let caller = Caller::Expert(expert);
    // Reading the conversation may move it to `reviewing`: list it as it is afterwards.
    let (conversation, record) = conversation(&state, &caller, record).await?;
    let responses = conversation
        .messages
        .iter()
        .filter(|m| m.from == Sender::Expert)
        .count();
    Ok(ok(RequestPage {
        request: InboxEntry::of(
            &record,
            key_name,
            u32::try_from(responses).unwrap_or(u32::MAX),
        )?,
        decision_signed: record.decision_signature.is_some(),
        conversation,
    }))
}

//! Who am I and what can I see: `GET /api/v1/whoami`, `GET /api/v1/experts`,
//! `GET /api/v1/requests/by-ref/:refCode`, `GET /api/v1/requests`, plus our additions
//! `PUT /api/v1/expert/keys` (PROTOCOL B3) and `POST /api/v1/devices` (B4).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use heysummon_sdk::keys::{PublicKeys, SignPublicKey};
use heysummon_sdk::wire::{
    ByRefResponse, EnrollDeviceRequest, EnrollDeviceResponse, ExpertId, ExpertInfo, ExpertSummary,
    ExpertsResponse, KeyId, OwnerId, OwnerSummary, PublishExpertKeysRequest,
    PublishExpertKeysResponse, RefCode, RequestId, RequestsListResponse, Status, WhoamiResponse,
};
use serde::Deserialize;
use serde_json::json;

use super::ok;
use crate::audit::{Actor, AuditKind, AuditNote, device_note};
use crate::auth::{ANY_KEY_MESSAGES, CLIENT_MESSAGES, EXPERT_MESSAGES};
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::state::AppState;
use crate::store::{DeviceRecord, ExpertRecord};

fn expert_info(expert: &ExpertRecord) -> ExpertInfo {
    ExpertInfo {
        id: ExpertId::new(&expert.id),
        name: expert.name.clone(),
        is_active: expert.is_active,
        sign_public_key: expert.sign_public_key.clone(),
        encrypt_public_key: expert.encrypt_public_key.clone(),
        fingerprint: expert.fingerprint.clone(),
    }
}

/// `GET /api/v1/whoami` (client keys).
#[utoipa::path(
    get,
    path = "/whoami",
    tag = "agents",
    security(("apiKey" = [])),
    responses((status = 200, description = "The key and its expert", body = heysummon_sdk::wire::WhoamiResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn whoami(State(state): State<AppState>, req: ApiRequest) -> ApiResult<Response> {
    let key = state
        .authenticate_client(&req, req.api_key(), CLIENT_MESSAGES)
        .await?;
    let expert = state.store.expert(&key.expert_id).await?;
    let owner = state.store.owner(&key.owner_id).await?;
    Ok(ok(WhoamiResponse {
        key_id: KeyId::new(&key.id),
        key_name: key.name.clone(),
        expert: expert.map(|e| ExpertSummary {
            id: ExpertId::new(&e.id),
            name: e.name,
            is_active: e.is_active,
        }),
        owner: OwnerSummary {
            id: OwnerId::new(&key.owner_id),
            name: owner.map(|o| o.name),
        },
    }))
}

/// `GET /api/v1/experts` (client keys): only the expert this key is linked to.
#[utoipa::path(
    get,
    path = "/experts",
    tag = "agents",
    security(("apiKey" = [])),
    responses((status = 200, description = "The expert this key reaches", body = heysummon_sdk::wire::ExpertsResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn experts(State(state): State<AppState>, req: ApiRequest) -> ApiResult<Response> {
    let key = state
        .authenticate_client(&req, req.api_key(), CLIENT_MESSAGES)
        .await?;
    let experts = state
        .store
        .expert(&key.expert_id)
        .await?
        .iter()
        .map(expert_info)
        .collect();
    Ok(ok(ExpertsResponse { experts }))
}

/// `GET /api/v1/requests/by-ref/:refCode` (the creator or the assigned expert).
#[utoipa::path(
    get,
    path = "/requests/by-ref/{code}",
    tag = "agents",
    params(("code" = String, Path, description = "A reference code, HS-XXXXXXXX, any case")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The request with this reference code", body = heysummon_sdk::wire::ByRefResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn by_ref(
    State(state): State<AppState>,
    Path(code): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let caller = state.authenticate_any(&req, ANY_KEY_MESSAGES).await?;
    let not_found = || ApiError::not_found("Request not found");
    let code = RefCode::parse(&code).ok_or_else(not_found)?;
    let request = state
        .store
        .request_by_ref(code.as_str())
        .await?
        .ok_or_else(not_found)?;
    if !caller.viewer().may_see(&request) {
        return Err(not_found());
    }
    let request = crate::lifecycle::expire_if_due(&state.store, request, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    Ok(ok(ByRefResponse {
        request_id: RequestId::new(&request.id),
        ref_code: code,
        status: request.status,
    }))
}

/// The query of `GET /api/v1/requests`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
}

/// The most requests one listing returns.
const MAX_LIST: usize = 1000;

impl ListQuery {
    /// The status filter (a known status, any case) and the limit (1 to 1000, default 1000).
    fn validated(&self) -> ApiResult<(Option<String>, usize)> {
        let status = match self.status.as_deref().map(str::to_ascii_lowercase) {
            None => None,
            Some(s) if Status::ALL.iter().any(|known| known.as_str() == s) => Some(s),
            Some(_) => {
                let known: Vec<&str> = Status::ALL.iter().map(Status::as_str).collect();
                return Err(ApiError::bad_request("Invalid status")
                    .member("details", json!(format!("one of {}", known.join(", ")))));
            }
        };
        let limit = match self.limit.as_deref() {
            None => MAX_LIST,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIST).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request("Invalid limit")
                        .member("details", json!("a whole number from 1 to 1000"))
                })?,
        };
        Ok((status, limit))
    }
}

/// `GET /api/v1/requests` (expert keys): requests routed to this expert, newest first.
#[utoipa::path(
    get,
    path = "/requests",
    tag = "experts",
    params(("status" = Option<String>, Query, description = "Only requests in this status (pending, reviewing, active, responded, closed, expired, cancelled, acknowledged)"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many (default 1000)")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "Requests routed to this expert, newest first", body = heysummon_sdk::wire::RequestsListResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let expert = state.authenticate_expert(&req, ANY_KEY_MESSAGES).await?;
    let (status, limit) = query.validated()?;
    let now = state.clock.now();
    let mut requests = Vec::new();
    for r in state
        .store
        .requests_for_expert(&expert.id, status.clone())
        .await?
    {
        // Lazy expiry, so a listing never shows a dead request as live.
        let Some(r) = crate::lifecycle::expire_if_due(&state.store, r, now).await? else {
            continue;
        };
        if status.as_deref().is_some_and(|s| s != r.status.as_str()) {
            continue;
        }
        requests.push(crate::views::request_summary(&r, true).ok_or_else(ApiError::internal)?);
        if requests.len() == limit {
            break;
        }
    }
    Ok(ok(RequestsListResponse { requests }))
}

/// `PUT /api/v1/expert/keys` (expert keys): publish long-term keys for sealed questions.
#[utoipa::path(
    put,
    path = "/expert/keys",
    tag = "experts",
    request_body = heysummon_sdk::wire::PublishExpertKeysRequest,
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The keys are published", body = heysummon_sdk::wire::PublishExpertKeysResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn publish_keys(
    State(state): State<AppState>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let expert = state.authenticate_expert(&req, EXPERT_MESSAGES).await?;
    let body: PublishExpertKeysRequest = req.json()?;
    let keys = PublicKeys::parse(&body.sign_public_key, &body.encrypt_public_key).map_err(|e| {
        ApiError::bad_request("Invalid public key").member("details", json!(e.to_string()))
    })?;
    let fingerprint = keys.fingerprint().to_string();
    let published = AuditNote::new(
        AuditKind::ExpertKeysPublished,
        Actor::Expert(expert.id.clone()),
        &expert.id,
        state.clock.now(),
    )
    .with("fingerprint", fingerprint.as_str());
    state
        .store
        .set_expert_keys(
            &expert.id,
            keys.sign.to_hex(),
            keys.encrypt.to_hex(),
            fingerprint.clone(),
            published,
        )
        .await?;
    Ok(ok(PublishExpertKeysResponse { fingerprint }))
}

/// `POST /api/v1/devices` (client keys): enroll an Ed25519 device key. A key with devices must
/// sign every request, so only an enrolled device can add another.
#[utoipa::path(
    post,
    path = "/devices",
    tag = "agents",
    request_body = heysummon_sdk::wire::EnrollDeviceRequest,
    security(("apiKey" = [])),
    responses((status = 200, description = "The device key is enrolled", body = heysummon_sdk::wire::EnrollDeviceResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn enroll_device(
    State(state): State<AppState>,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let key = state.authenticate_enrolling_client(&req).await?;
    let body: EnrollDeviceRequest = req.json()?;
    let public_key = SignPublicKey::parse(&body.public_key).map_err(|e| {
        ApiError::bad_request("Invalid device key").member("details", json!(e.to_string()))
    })?;
    let now = state.clock.now();
    let device = DeviceRecord {
        id: public_key.device_id(),
        client_key_id: key.id.clone(),
        public_key: public_key.to_hex(),
        created_at: now,
    };
    // An unsigned enrollment is only allowed for a key's first device; if another unsigned
    // enrollment won the race, this one needs a signature now.
    let signed = req
        .header(heysummon_sdk::signing::HEADER_SIGNATURE)
        .is_some();
    let enrolled = device_note(Actor::Client(key.id.clone()), &device);
    if !state
        .store
        .insert_device(device.clone(), !signed, enrolled)
        .await?
    {
        let key_has_devices = !state.store.devices(&key.id).await?.is_empty();
        return Err(if !signed && key_has_devices {
            crate::auth::signature_error(heysummon_sdk::SignatureRejection::Required)
        } else {
            ApiError::conflict("Device already enrolled")
        });
    }
    Ok(ok(EnrollDeviceResponse {
        device_id: device.id,
        enrolled_at: timestamp(now),
    }))
}

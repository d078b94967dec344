//! `POST /api/v1/message/:id` and `GET /api/v1/messages/:id`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_sdk::safety;
use heysummon_sdk::wire::{
    EncryptedPayload, MessageId, MessageItem, MessageRowId, MessagesResponse, RefCode, RequestId,
    SendMessageRequest, SendMessageResponse, Sender, Status,
};
use serde_json::json;

use super::visible_request;
use super::{lifecycle_error, ok};
use crate::auth::{ANY_KEY_MESSAGES, Caller};
use crate::clock::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::ids::new_id;
use crate::lifecycle::{self, Action, Performed};
use crate::state::AppState;
use crate::store::{MessageRecord, RequestRecord};

const MAX_PLAINTEXT_CHARS: usize = 100_000;
const MAX_CIPHERTEXT_CHARS: usize = 200_000;
const MAX_IV_CHARS: usize = 512;
const MAX_SIGNATURE_CHARS: usize = 2048;
const MAX_MESSAGE_ID_CHARS: usize = 256;

/// Length limits of an encrypted payload; the error says which member is too long.
pub(crate) fn validate_encrypted(p: &EncryptedPayload) -> Result<(), String> {
    let checks = [
        ("ciphertext", p.ciphertext.len(), MAX_CIPHERTEXT_CHARS),
        ("iv", p.iv.len(), MAX_IV_CHARS),
        ("authTag", p.auth_tag.len(), MAX_IV_CHARS),
        ("signature", p.signature.len(), MAX_SIGNATURE_CHARS),
        (
            "messageId",
            p.message_id.as_str().len(),
            MAX_MESSAGE_ID_CHARS,
        ),
    ];
    for (name, len, max) in checks {
        if len > max {
            return Err(format!("{name} must be at most {max} characters"));
        }
    }
    if p.message_id.as_str().is_empty() {
        return Err("messageId must not be empty".into());
    }
    // The binary members must be what PROTOCOL part C produces, so an encrypted message can
    // never take the shape of a plaintext item or an approval marker.
    let decoded_len = |text: &str| BASE64.decode(text).map(|bytes| bytes.len()).ok();
    if decoded_len(&p.ciphertext).is_none() {
        return Err("ciphertext must be standard base64".into());
    }
    for (name, value, len) in [
        ("iv", &p.iv, 12),
        ("authTag", &p.auth_tag, 16),
        ("signature", &p.signature, 64),
    ] {
        if decoded_len(value) != Some(len) {
            return Err(format!("{name} must be standard base64 of {len} bytes"));
        }
    }
    Ok(())
}

/// The wire item of a stored message.
pub(crate) fn item_of(m: &MessageRecord) -> MessageItem {
    MessageItem {
        id: MessageRowId::new(&m.id),
        from: m.sender,
        ciphertext: Some(m.ciphertext.clone()),
        iv: Some(m.iv.clone()),
        auth_tag: Some(m.auth_tag.clone()),
        signature: Some(m.signature.clone()),
        message_id: MessageId::new(&m.message_id),
        created_at: timestamp(m.created_at),
        plaintext: m.plaintext.clone(),
    }
}

/// The wire item of a stored message as `caller` reads it: an agent's text shown to an expert
/// has its hidden controls made visible ([`crate::views::displayable`]); everything else is
/// returned as stored.
fn item_for(caller: &Caller, m: &MessageRecord) -> MessageItem {
    let mut item = item_of(m);
    if matches!(caller, Caller::Expert(_)) && m.sender == Sender::Consumer {
        item.plaintext = item
            .plaintext
            .map(|text| crate::views::displayable(&text).into_owned());
    }
    item
}

fn not_yours(caller: &Caller) -> ApiError {
    match caller {
        Caller::Expert(_) => {
            ApiError::forbidden("Request not found or not assigned to this expert")
        }
        Caller::Client(_) => ApiError::forbidden("Request not found or not owned by this client"),
    }
}

/// `POST /api/v1/message/:id`.
#[utoipa::path(
    post,
    path = "/message/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The request id")),
    request_body = heysummon_sdk::wire::SendMessageRequest,
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The message was stored (or was a repeat of a stored one)", body = heysummon_sdk::wire::SendMessageResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    req.require_json_content_type()?;
    let caller = state.authenticate_any(&req, ANY_KEY_MESSAGES).await?;
    let body: SendMessageRequest = req.json()?;
    let role = match caller {
        Caller::Client(_) => Sender::Consumer,
        Caller::Expert(_) => Sender::Expert,
    };
    if body.from != role {
        let name = |s: Sender| match s {
            Sender::Consumer => "consumer",
            Sender::Expert => "expert",
        };
        return Err(ApiError::forbidden(format!(
            "API key role ({}) does not match from ({})",
            name(role),
            name(body.from)
        )));
    }
    if role == Sender::Consumer && body.approval_decision.is_some() {
        return Err(ApiError::forbidden(
            "approvalDecision is only accepted from the expert",
        ));
    }
    let request = visible_request(&state, caller.viewer(), &id)
        .await?
        .ok_or_else(|| not_yours(&caller))?;
    if let (Caller::Expert(expert), Some(decision)) = (&caller, body.approval_decision) {
        // A decision inside a message is never signed (PROTOCOL H4).
        super::decisions::unsigned(expert, &request, decision)?;
    }
    let now = state.clock.now();

    let message = match (&body.plaintext, body.ciphertext.is_some()) {
        (Some(_), false) if request.sealed => {
            return Err(ApiError::bad_request(
                "This request is end-to-end encrypted: plaintext messages are not accepted",
            ));
        }
        (Some(text), false) => {
            if text.chars().count() > MAX_PLAINTEXT_CHARS {
                return Err(ApiError::bad_request("Validation failed").member(
                    "details",
                    json!("plaintext must be at most 100000 characters"),
                ));
            }
            if role == Sender::Consumer {
                let report = safety::scan_plaintext_message(text);
                if report.blocked() {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        safety::BLOCKED_ERROR,
                    )
                    .member("flags", json!(report.flags)));
                }
            }
            let message_id = body.message_id.clone().unwrap_or_else(MessageId::random);
            if message_id.as_str().is_empty() || message_id.as_str().len() > MAX_MESSAGE_ID_CHARS {
                return Err(ApiError::bad_request("Validation failed")
                    .member("details", json!("messageId must be 1 to 256 characters")));
            }
            lifecycle::plaintext_message(&request.id, role, text, message_id, now)
        }
        _ => {
            let payload = body.encrypted_payload().ok_or_else(|| {
                ApiError::bad_request(
                    "from + (plaintext | ciphertext+iv+authTag+signature+messageId) required",
                )
            })?;
            validate_encrypted(&payload).map_err(|details| {
                ApiError::bad_request("Validation failed").member("details", json!(details))
            })?;
            if !request.response_required {
                return Err(lifecycle_error(lifecycle::LifecycleError::Refused(
                    lifecycle::Refusal::NoResponseRequired,
                )));
            }
            if request.status.is_terminal() {
                return Err(ApiError::bad_request("Request is closed or expired"));
            }
            match role {
                Sender::Expert if request.expert_encrypt_key.is_none() => {
                    return Err(ApiError::bad_request(
                        "Expert must exchange keys first (POST /key-exchange)",
                    ));
                }
                Sender::Consumer if request.consumer_encrypt_key.is_none() => {
                    return Err(ApiError::bad_request(
                        "Consumer keys not found — must be sent in POST /help",
                    ));
                }
                _ => {}
            }
            MessageRecord {
                id: new_id(),
                request_id: request.id.clone(),
                sender: role,
                ciphertext: payload.ciphertext,
                iv: payload.iv,
                auth_tag: payload.auth_tag,
                signature: payload.signature,
                message_id: payload.message_id.into_string(),
                plaintext: None,
                created_at: now,
            }
        }
    };

    let message_id = MessageId::new(&message.message_id);
    let action = match role {
        Sender::Expert => Action::ExpertMessage {
            message,
            decision: body.approval_decision,
        },
        Sender::Consumer => Action::ConsumerMessage { message },
    };
    match lifecycle::perform(&state.store, request, action, now)
        .await
        .map_err(lifecycle_error)?
    {
        Performed::DuplicateMessage => Ok(ok(SendMessageResponse {
            success: true,
            message_id,
            created_at: None,
            duplicate: Some(true),
        })),
        Performed::Changed { .. } | Performed::Unchanged(_) => Ok(ok(SendMessageResponse {
            success: true,
            message_id,
            created_at: Some(timestamp(now)),
            duplicate: None,
        })),
    }
}

/// `GET /api/v1/messages/:id`.
#[utoipa::path(
    get,
    path = "/messages/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The request id")),
    security(("apiKey" = []), ("session" = [])),
    responses((status = 200, description = "The conversation", body = heysummon_sdk::wire::MessagesResponse), crate::app::openapi::Failure),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> ApiResult<Response> {
    let caller = state
        .authenticate_any(&req, crate::auth::CLIENT_MESSAGES)
        .await?;
    let request = visible_request(&state, caller.viewer(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Request not found"))?;
    let (conversation, _) = conversation(&state, &caller, request).await?;
    Ok(ok(conversation))
}

/// A request's conversation as its caller sees it, and the request as it is afterwards: the
/// expert reading it moves a pending request to `reviewing`.
pub(crate) async fn conversation(
    state: &AppState,
    caller: &Caller,
    mut request: RequestRecord,
) -> ApiResult<(MessagesResponse, RequestRecord)> {
    if matches!(caller, Caller::Expert(_)) && request.status == Status::Pending {
        let now = state.clock.now();
        if let Some(updated) =
            lifecycle::perform(&state.store, request.clone(), Action::Review, now)
                .await
                .map_err(lifecycle_error)?
                .request()
        {
            request = updated.clone();
        }
    }
    let messages = state.store.messages(&request.id).await?;
    let conversation = MessagesResponse {
        request_id: RequestId::new(&request.id),
        ref_code: RefCode::parse(&request.ref_code).ok_or_else(ApiError::internal)?,
        status: request.status.clone(),
        consumer_sign_pub_key: request.consumer_sign_key.clone(),
        consumer_encrypt_pub_key: request.consumer_encrypt_key.clone(),
        expert_sign_pub_key: request.expert_sign_key.clone(),
        expert_encrypt_pub_key: request.expert_encrypt_key.clone(),
        messages: messages.iter().map(|m| item_for(caller, m)).collect(),
        expires_at: timestamp(request.expires_at),
        action: request
            .action_json
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        action_hash: request.action_hash.clone(),
    };
    Ok((conversation, request))
}

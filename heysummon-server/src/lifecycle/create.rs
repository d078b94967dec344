//! Creating a request: its first status, its lifetime, its reference code (drawn again on a
//! collision), its creation event, its sealed first message and its idempotency record, all in
//! one transaction.

use heysummon_sdk::wire::{
    CreateHelpResponse, EncryptedPayload, RefCode, RequestId, Sender, Status,
};

use super::LifecycleError;
use super::creation_event;
use crate::clock::{Millis, timestamp};
use crate::ids::new_id;
use crate::store::{
    CreateOutcome, IdempotencyRecord, MessageRecord, NewRequest, RequestRecord, Store, StoreError,
};

/// How many reference codes are drawn before creation gives up (a collision of 40 random bits
/// is rare; ten in a row means something else is wrong).
const REF_CODE_ATTEMPTS: usize = 10;

/// How long requests live, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Questions and approvals, seconds.
    pub request_secs: u64,
    /// Notifications (no response expected), seconds.
    pub notification_secs: u64,
}

impl Lifetimes {
    fn expiry(self, response_required: bool, now: Millis) -> Millis {
        let secs = if response_required {
            self.request_secs
        } else {
            self.notification_secs
        };
        now.saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
    }
}

/// A question sealed to the expert's published keys (PROTOCOL B3): the envelope and the keys
/// it was sealed to, which become the request's expert keys.
#[derive(Clone, Debug)]
pub struct SealedQuestion {
    /// The envelope, stored as the request's first message.
    pub envelope: EncryptedPayload,
    /// The expert's Ed25519 key, as published.
    pub expert_sign_key: String,
    /// The expert's X25519 key, as published.
    pub expert_encrypt_key: String,
}

/// A validated, authenticated request to create.
#[derive(Clone, Debug)]
pub struct Creation {
    /// The client key creating it.
    pub client_key_id: String,
    /// The expert it is routed to.
    pub expert_id: String,
    /// `false` for a notification.
    pub response_required: bool,
    /// An approval request.
    pub requires_approval: bool,
    /// The plaintext question (never with a sealed one).
    pub question: Option<String>,
    /// The context messages, as a JSON array.
    pub messages_json: Option<String>,
    /// The action an approval request asks about (PROTOCOL H4), as JSON.
    pub action_json: Option<String>,
    /// Its hash.
    pub action_hash: Option<String>,
    /// The content-safety flags, as a JSON array.
    pub content_flags: Option<String>,
    /// The consumer's Ed25519 key.
    pub consumer_sign_key: Option<String>,
    /// The consumer's X25519 key.
    pub consumer_encrypt_key: Option<String>,
    /// A v1 client's single legacy key.
    pub legacy_public_key: Option<String>,
    /// The sealed question, if it is one.
    pub sealed: Option<SealedQuestion>,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// What creation did.
#[derive(Clone, Debug)]
pub enum Created {
    /// A new request; the body of the creation answer.
    New {
        /// The request as stored.
        request: Box<RequestRecord>,
        /// The JSON answer, also kept for idempotent retries.
        response_json: String,
    },
    /// The idempotency key was used before: the original answer, nothing created.
    Replayed(String),
}

impl Created {
    /// The JSON body of the creation answer.
    pub fn response_json(&self) -> &str {
        match self {
            Self::New { response_json, .. } | Self::Replayed(response_json) => response_json,
        }
    }
}

/// Creates a request: a sealed question starts `active` (the expert's keys are known), any
/// other `pending`. Retries with a fresh reference code when the drawn one is taken.
pub async fn create(
    store: &Store,
    creation: Creation,
    lifetimes: Lifetimes,
    now: Millis,
) -> Result<Created, LifecycleError> {
    let request = initial_record(&creation, lifetimes, now);
    for _ in 0..REF_CODE_ATTEMPTS {
        let request = RequestRecord {
            id: new_id(),
            ref_code: RefCode::random().as_str().to_owned(),
            ..request.clone()
        };
        let response = CreateHelpResponse {
            request_id: RequestId::new(&request.id),
            ref_code: RefCode::parse(&request.ref_code)
                .ok_or_else(|| StoreError::Corrupt("generated reference code".into()))?,
            status: request.status.clone(),
            expires_at: timestamp(request.expires_at),
            response_required: (!request.response_required).then_some(false),
        };
        let response_json = serde_json::to_string(&response)
            .map_err(|error| StoreError::Corrupt(format!("creation answer: {error}")))?;
        let new = NewRequest {
            events: vec![creation_event(&request)],
            first_message: creation
                .sealed
                .as_ref()
                .map(|sealed| sealed_message(&request, &sealed.envelope)),
            idempotency: creation
                .idempotency_key
                .as_ref()
                .map(|key| IdempotencyRecord {
                    client_key_id: request.client_key_id.clone(),
                    key: key.clone(),
                    response_json: response_json.clone(),
                }),
            request,
        };
        let request = new.request.clone();
        match store.create_request(new).await {
            Ok(CreateOutcome::Created) => {
                crate::telemetry::request_created(super::kind_label(&request));
                return Ok(Created::New {
                    request: Box::new(request),
                    response_json,
                });
            }
            Ok(CreateOutcome::Replayed(original)) => return Ok(Created::Replayed(original)),
            Err(error) if error.is_unique_violation(StoreError::REF_CODE_UNIQUE) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Corrupt("no free reference code".into()).into())
}

/// The request as created, before its id and reference code are drawn.
fn initial_record(creation: &Creation, lifetimes: Lifetimes, now: Millis) -> RequestRecord {
    let sealed = creation.sealed.as_ref();
    RequestRecord {
        status: if sealed.is_some() {
            Status::Active
        } else {
            Status::Pending
        },
        response_required: creation.response_required,
        requires_approval: creation.requires_approval,
        sealed: sealed.is_some(),
        question: creation.question.clone().filter(|_| sealed.is_none()),
        messages_json: creation.messages_json.clone(),
        action_json: creation.action_json.clone(),
        action_hash: creation.action_hash.clone(),
        content_flags: creation.content_flags.clone(),
        consumer_sign_key: creation.consumer_sign_key.clone(),
        consumer_encrypt_key: creation.consumer_encrypt_key.clone(),
        legacy_public_key: creation.legacy_public_key.clone(),
        expert_sign_key: sealed.map(|s| s.expert_sign_key.clone()),
        expert_encrypt_key: sealed.map(|s| s.expert_encrypt_key.clone()),
        message_count: u32::from(sealed.is_some()),
        ..RequestRecord::new(
            String::new(),
            String::new(),
            creation.client_key_id.clone(),
            creation.expert_id.clone(),
            now,
            lifetimes.expiry(creation.response_required, now),
        )
    }
}

/// The sealed question as the request's first (consumer) message.
fn sealed_message(request: &RequestRecord, sealed: &EncryptedPayload) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        request_id: request.id.clone(),
        sender: Sender::Consumer,
        ciphertext: sealed.ciphertext.clone(),
        iv: sealed.iv.clone(),
        auth_tag: sealed.auth_tag.clone(),
        signature: sealed.signature.clone(),
        message_id: sealed.message_id.as_str().to_owned(),
        plaintext: None,
        created_at: request.created_at,
    }
}

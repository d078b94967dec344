//! Moving a request through its life: key exchange, close, acknowledge, approve and rate.

use serde::{Deserialize, Serialize};

use super::{ApprovalDecision, RefCode, Status, Timestamp};

/// The lowest rating `POST /rate` accepts.
pub const MIN_RATING: u8 = 1;
/// The highest rating `POST /rate` accepts.
pub const MAX_RATING: u8 = 5;

/// The body of `POST /api/v1/key-exchange/:id`: the expert's public keys for this request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyExchangeRequest {
    /// The expert's Ed25519 public key, hex of DER SPKI.
    pub sign_public_key: String,
    /// The expert's X25519 public key, hex of DER SPKI.
    pub encrypt_public_key: String,
}

impl KeyExchangeRequest {
    /// The body for the given public keys.
    pub fn new(sign_public_key: impl Into<String>, encrypt_public_key: impl Into<String>) -> Self {
        Self {
            sign_public_key: sign_public_key.into(),
            encrypt_public_key: encrypt_public_key.into(),
        }
    }
}

/// The answer to `POST /api/v1/key-exchange/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyExchangeResponse {
    /// Always `true` on success.
    pub success: bool,
    /// `active`.
    pub status: Status,
}

/// The answer to `POST /api/v1/close/:id`.
///
/// HeySummon answers a close of an already acknowledged or expired notification with
/// `{"success","status","acknowledgedAt"}` and no `previousStatus`/`closedAt`, hence the options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloseResponse {
    /// Always `true` on success.
    pub success: bool,
    /// `closed` (or the terminal status of a notification).
    pub status: Status,
    /// The status before this call; `closed` when it was closed already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<Status>,
    /// When the request was closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// When a notification was acknowledged (notification close only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
}

/// The answer to `POST /api/v1/acknowledge/:id` (notifications only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcknowledgeResponse {
    /// Always `true` on success.
    pub success: bool,
    /// `acknowledged`.
    pub status: Status,
    /// When it was first acknowledged.
    pub acknowledged_at: Timestamp,
}

/// The body of `POST /api/v1/approve/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApproveRequest {
    /// The expert's decision.
    pub decision: ApprovalDecision,
    /// The expert's signature over the decision (H4), standard base64: by the signing key of
    /// its published keys, over [`crate::decision::DecisionStatement`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_signature: Option<String>,
    /// The time in the signed statement; required with a signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// The action hash the expert signed over; required with a signature when the request
    /// carries an action (for a sealed request the server cannot compute it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub action_hash: Option<String>,
}

impl ApproveRequest {
    /// A decision without a signature (server-attested; HeySummon v1).
    pub fn unsigned(decision: ApprovalDecision) -> Self {
        Self {
            decision,
            decision_signature: None,
            decided_at: None,
            action_hash: None,
        }
    }
}

/// The answer to `POST /api/v1/approve/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApproveResponse {
    /// Always `true` on success.
    pub success: bool,
    /// The decision recorded.
    pub decision: ApprovalDecision,
    /// The request's reference code.
    pub ref_code: RefCode,
}

/// The body of `POST /api/v1/rate/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RateRequest {
    /// From [`MIN_RATING`] to [`MAX_RATING`].
    pub rating: u8,
    /// Free text for the expert (at most 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

impl RateRequest {
    /// A rating without feedback; `None` when `rating` is outside 1–5.
    pub fn new(rating: u8) -> Option<Self> {
        (MIN_RATING..=MAX_RATING).contains(&rating).then_some(Self {
            rating,
            feedback: None,
        })
    }

    /// Adds feedback.
    #[must_use]
    pub fn with_feedback(mut self, feedback: impl Into<String>) -> Self {
        self.feedback = Some(feedback.into());
        self
    }

    /// Whether the rating is within 1–5.
    pub fn is_in_range(&self) -> bool {
        (MIN_RATING..=MAX_RATING).contains(&self.rating)
    }
}

/// The answer to `POST /api/v1/rate/:id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RateResponse {
    /// Always `true` on success.
    pub success: bool,
    /// The rating recorded.
    pub rating: u8,
    /// When it was recorded.
    pub rated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn key_exchange_round_trip() {
        let request = KeyExchangeRequest::new("302a3005", "302a3006");
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"signPublicKey":"302a3005","encryptPublicKey":"302a3006"}"#
        );
        assert_eq!(
            serde_json::from_str::<KeyExchangeRequest>(&json).unwrap(),
            request
        );
        let response: KeyExchangeResponse =
            serde_json::from_str(r#"{"success":true,"status":"active","extra":[]}"#).unwrap();
        assert_eq!(response.status, Status::Active);
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"success":true,"status":"active"}"#
        );
    }

    #[test]
    fn golden_close_responses() {
        let json = r#"{"success":true,"status":"closed","previousStatus":"responded","closedAt":"2026-04-25T20:00:00.000Z"}"#;
        let closed: CloseResponse = serde_json::from_str(json).unwrap();
        assert_eq!(closed.previous_status, Some(Status::Responded));
        assert_eq!(closed.closed_at, Some(ts("2026-04-25T20:00:00.000Z")));
        assert_eq!(serde_json::to_string(&closed).unwrap(), json);
        let notification: CloseResponse =
            serde_json::from_str(r#"{"success":true,"status":"expired","acknowledgedAt":null}"#)
                .unwrap();
        assert_eq!(notification.status, Status::Expired);
        assert_eq!(notification.previous_status, None);
        assert_eq!(notification.acknowledged_at, None);
    }

    #[test]
    fn golden_acknowledge_response() {
        let json = r#"{"success":true,"status":"acknowledged","acknowledgedAt":"2026-04-25T20:00:00.000Z"}"#;
        let ack: AcknowledgeResponse = serde_json::from_str(json).unwrap();
        assert_eq!(ack.status, Status::Acknowledged);
        assert_eq!(serde_json::to_string(&ack).unwrap(), json);
    }

    #[test]
    fn golden_approve() {
        let request: ApproveRequest = serde_json::from_str(r#"{"decision":"denied"}"#).unwrap();
        assert_eq!(request.decision, ApprovalDecision::Denied);
        assert!(serde_json::from_str::<ApproveRequest>(r#"{"decision":"maybe"}"#).is_err());
        let json = r#"{"success":true,"decision":"approved","refCode":"HS-7K2QX9LB"}"#;
        let response: ApproveResponse = serde_json::from_str(json).unwrap();
        assert_eq!(response.ref_code.as_str(), "HS-7K2QX9LB");
        assert_eq!(serde_json::to_string(&response).unwrap(), json);
    }

    #[test]
    fn golden_rate() {
        let request: RateRequest = serde_json::from_str(r#"{"rating":5,"feedback":null}"#).unwrap();
        assert_eq!(request, RateRequest::new(5).unwrap());
        let with = RateRequest::new(4).unwrap().with_feedback("quick");
        assert_eq!(
            serde_json::to_string(&with).unwrap(),
            r#"{"rating":4,"feedback":"quick"}"#
        );
        assert!(RateRequest::new(0).is_none());
        assert!(RateRequest::new(6).is_none());
        let wild: RateRequest = serde_json::from_str(r#"{"rating":9}"#).unwrap();
        assert!(!wild.is_in_range());
        assert!(serde_json::from_str::<RateRequest>(r#"{"rating":-1}"#).is_err());
        let json = r#"{"success":true,"rating":5,"ratedAt":"2026-04-25T20:00:00.000Z"}"#;
        let response: RateResponse = serde_json::from_str(json).unwrap();
        assert_eq!(response.rated_at, ts("2026-04-25T20:00:00.000Z"));
        assert_eq!(serde_json::to_string(&response).unwrap(), json);
    }
}

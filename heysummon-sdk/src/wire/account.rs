//! Who a key is and what it may see: `whoami`, experts and their published keys, device
//! enrolment, request look-ups, health, and the JSON printed by the provisioning commands
//! (PROTOCOL part D).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::null_as_default;
use super::{ApprovalDecision, ExpertId, KeyId, OwnerId, RefCode, RequestId, Status, Timestamp};

/// The answer to `GET /api/v1/whoami`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoamiResponse {
    /// The key's record (never the key itself).
    pub key_id: KeyId,
    /// The key's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The expert the key is linked to; `null` for an unlinked key (written as `null`, as
    /// PROTOCOL spells it, rather than left out).
    #[serde(default)]
    pub expert: Option<ExpertSummary>,
    /// The owner (tenant) of the key.
    pub owner: OwnerSummary,
}

/// An expert as `whoami` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpertSummary {
    /// The expert.
    pub id: ExpertId,
    /// The expert's display name.
    pub name: String,
    /// Whether the expert takes requests.
    pub is_active: bool,
}

/// The owner (tenant) of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OwnerSummary {
    /// The owner.
    pub id: OwnerId,
    /// The owner's name, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The answer to `GET /api/v1/experts`: only the experts this key is linked to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpertsResponse {
    /// The experts.
    pub experts: Vec<ExpertInfo>,
}

/// An expert as `GET /experts` lists it, with the published keys of B3 when there are any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpertInfo {
    /// The expert.
    pub id: ExpertId,
    /// The expert's display name.
    pub name: String,
    /// Whether the expert takes requests.
    pub is_active: bool,
    /// The published Ed25519 public key, hex of DER SPKI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_public_key: Option<String>,
    /// The published X25519 public key, hex of DER SPKI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_public_key: Option<String>,
    /// Lowercase hex SHA-256 of the two DER SPKI keys, sign key first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// The body of `PUT /api/v1/expert/keys`: an expert publishes long-term public keys (B3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublishExpertKeysRequest {
    /// The Ed25519 public key, hex of DER SPKI.
    pub sign_public_key: String,
    /// The X25519 public key, hex of DER SPKI.
    pub encrypt_public_key: String,
}

/// The answer to `PUT /api/v1/expert/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublishExpertKeysResponse {
    /// The fingerprint of the published keys, lowercase hex.
    pub fingerprint: String,
}

/// The body of `POST /api/v1/devices`: a client key enrols its first device key (B4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnrollDeviceRequest {
    /// The device's Ed25519 public key, lowercase hex of DER SPKI.
    pub public_key: String,
}

/// The answer to `POST /api/v1/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnrollDeviceResponse {
    /// Lowercase hex SHA-256 of the device's DER SPKI: the `x-heysummon-device` value.
    pub device_id: String,
    /// When the device was enrolled.
    pub enrolled_at: Timestamp,
}

/// The answer to `GET /api/v1/requests/by-ref/:refCode`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ByRefResponse {
    /// The request.
    pub request_id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Its current status.
    pub status: Status,
}

/// The answer to `GET /api/v1/requests`, and the output of `request list --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestsListResponse {
    /// The requests, newest first.
    pub requests: Vec<RequestSummary>,
}

/// A request as the expert list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestSummary {
    /// The request.
    pub id: RequestId,
    /// Its reference code.
    pub ref_code: RefCode,
    /// Its current status.
    pub status: Status,
    /// Whether it asks for approval.
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_approval: bool,
    /// The decision, once made.
    #[serde(default)]
    pub approval_decision: Option<ApprovalDecision>,
    /// `false` for a notification.
    #[serde(default = "default_true", deserialize_with = "null_as_true")]
    pub response_required: bool,
    /// When it expires.
    pub expires_at: Timestamp,
    /// How many messages it has.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message_count: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// The plaintext question, when the server holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The action an approval request asks about (H4), when the server holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub action: Option<serde_json::Value>,
    /// When the expert answered or decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    /// When a notification was acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    /// When it was closed or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

fn default_true() -> bool {
    true
}

fn null_as_true<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

/// The answer to the health endpoints: `{"status":"ok",…}`, or `{"status":"error"}` with 503.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// `ok` or `error`.
    pub status: String,
    /// The server version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The server's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// How the server is reached (`direct`); `/api/v1/health` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<String>,
}

impl HealthResponse {
    /// Whether the server reports itself healthy.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

/// Printed by `heysummon-server expert add --json`. The key is redacted from `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpertAdded {
    /// The new expert.
    pub expert_id: ExpertId,
    /// The expert key, shown once.
    pub expert_key: String,
}

/// Printed by `heysummon-server client add --json`. The key is redacted from `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientAdded {
    /// The new key's record.
    pub key_id: KeyId,
    /// The client key, shown once.
    pub client_key: String,
}

/// Printed by `heysummon-server client revoke --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientRevoked {
    /// The revoked key's record.
    pub key_id: KeyId,
    /// The key's state afterwards (`revoked`).
    pub status: String,
}

/// Printed by `heysummon-server client rotate --json`. The key is redacted from `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientRotated {
    /// The key's record (unchanged by rotation).
    pub key_id: KeyId,
    /// The new client key, shown once.
    pub client_key: String,
    /// Until when the previous key keeps working (24 h).
    pub previous_key_expires_at: Timestamp,
}

/// Printed by `heysummon-server request expire --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestExpired {
    /// The request.
    pub request_id: RequestId,
    /// `expired`.
    pub status: Status,
}

const REDACTED: &str = "[redacted]";

impl fmt::Debug for ExpertAdded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpertAdded")
            .field("expert_id", &self.expert_id)
            .field("expert_key", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for ClientAdded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAdded")
            .field("key_id", &self.key_id)
            .field("client_key", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for ClientRotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRotated")
            .field("key_id", &self.key_id)
            .field("client_key", &REDACTED)
            .field("previous_key_expires_at", &self.previous_key_expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
    {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(&serde_json::from_value::<T>(json).unwrap(), value);
    }

    #[test]
    fn golden_whoami() {
        let linked: WhoamiResponse = serde_json::from_str(
            r#"{"keyId":"k1","keyName":"agent","expert":{"id":"e1","name":"Alice","isActive":true},"owner":{"id":"o1","name":"Acme"}}"#,
        )
        .unwrap();
        assert_eq!(linked.expert.as_ref().map(|e| e.is_active), Some(true));
        assert_eq!(linked.owner.name.as_deref(), Some("Acme"));
        round_trip(&linked);
        let unlinked: WhoamiResponse = serde_json::from_str(
            r#"{"keyId":"k1","keyName":null,"expert":null,"owner":{"id":"o1","name":null}}"#,
        )
        .unwrap();
        assert_eq!(unlinked.key_name, None);
        assert_eq!(unlinked.expert, None);
        assert_eq!(
            serde_json::to_value(&unlinked).unwrap(),
            json!({"keyId":"k1","expert":null,"owner":{"id":"o1"}})
        );
    }

    #[test]
    fn golden_experts() {
        let plain: ExpertsResponse =
            serde_json::from_str(r#"{"experts":[{"id":"e1","name":"Alice","isActive":true}]}"#)
                .unwrap();
        assert_eq!(plain.experts[0].fingerprint, None);
        let published: ExpertsResponse = serde_json::from_str(
            r#"{"experts":[{"id":"e1","name":"Alice","isActive":true,"signPublicKey":"302a3005","encryptPublicKey":"302a3006","fingerprint":"ab12cd34","avatar":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(
            published.experts[0].fingerprint.as_deref(),
            Some("ab12cd34")
        );
        round_trip(&published);
        assert!(serde_json::from_str::<ExpertsResponse>(r#"{"experts":[]}"#).is_ok());
    }

    #[test]
    fn expert_keys_and_devices() {
        let publish = PublishExpertKeysRequest {
            sign_public_key: "302a3005".into(),
            encrypt_public_key: "302a3006".into(),
        };
        assert_eq!(
            serde_json::to_string(&publish).unwrap(),
            r#"{"signPublicKey":"302a3005","encryptPublicKey":"302a3006"}"#
        );
        round_trip(&publish);
        let fingerprint: PublishExpertKeysResponse =
            serde_json::from_str(r#"{"fingerprint":"ab12"}"#).unwrap();
        round_trip(&fingerprint);
        let enroll: EnrollDeviceRequest =
            serde_json::from_str(r#"{"publicKey":"302a300506032b6570032100aa"}"#).unwrap();
        round_trip(&enroll);
        let enrolled: EnrollDeviceResponse = serde_json::from_str(
            r#"{"deviceId":"0f1e","enrolledAt":"2026-04-25T19:56:45.123Z","note":1}"#,
        )
        .unwrap();
        assert_eq!(enrolled.enrolled_at, ts("2026-04-25T19:56:45.123Z"));
        round_trip(&enrolled);
    }

    #[test]
    fn golden_by_ref() {
        let json = r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"pending"}"#;
        let found: ByRefResponse = serde_json::from_str(json).unwrap();
        assert_eq!(found.status, Status::Pending);
        assert_eq!(serde_json::to_string(&found).unwrap(), json);
    }

    #[test]
    fn golden_request_list() {
        let list: RequestsListResponse = serde_json::from_str(
            r#"{"requests":[{"id":"cm1","refCode":"HS-7K2QX9LB","status":"responded","requiresApproval":true,
            "approvalDecision":"denied","responseRequired":true,"acknowledgedAt":null,
            "expiresAt":"2026-04-28T19:56:45.123Z","messageCount":2,"inbound":1,"outbound":1,
            "createdAt":"2026-04-25T19:56:45.123Z","contentFlags":null,"apiKey":{"name":"a"}},
            {"id":"cm2","refCode":"HS-AAAAAAAA","status":"paused","requiresApproval":null,
            "approvalDecision":null,"responseRequired":null,"expiresAt":"2026-04-28T19:56:45.123Z",
            "messageCount":null,"createdAt":"2026-04-25T19:56:45.123Z"}]}"#,
        )
        .unwrap();
        let first = &list.requests[0];
        assert_eq!(first.approval_decision, Some(ApprovalDecision::Denied));
        assert_eq!(first.message_count, 2);
        let second = &list.requests[1];
        assert_eq!(second.status, Status::Unknown("paused".into()));
        assert!(!second.requires_approval);
        assert!(second.response_required);
        assert_eq!(second.message_count, 0);
        round_trip(&list);
    }

    #[test]
    fn golden_health() {
        let v1: HealthResponse = serde_json::from_str(
            r#"{"status":"ok","version":"0.1.0","timestamp":"2026-04-25T19:56:45.123Z","connectivity":"direct","contentSafety":{"enabled":true}}"#,
        )
        .unwrap();
        assert!(v1.is_ok());
        assert_eq!(v1.connectivity.as_deref(), Some("direct"));
        round_trip(&v1);
        let down: HealthResponse = serde_json::from_str(r#"{"status":"error"}"#).unwrap();
        assert!(!down.is_ok());
        assert_eq!(
            serde_json::to_string(&down).unwrap(),
            r#"{"status":"error"}"#
        );
    }

    #[test]
    fn provisioning_outputs_round_trip_and_hide_keys() {
        let expert: ExpertAdded =
            serde_json::from_str(r#"{"expertId":"e1","expertKey":"hs_exp_topsecret"}"#).unwrap();
        let client: ClientAdded =
            serde_json::from_str(r#"{"keyId":"k1","clientKey":"hs_cli_topsecret"}"#).unwrap();
        let rotated: ClientRotated = serde_json::from_str(
            r#"{"keyId":"k1","clientKey":"hs_cli_newsecret","previousKeyExpiresAt":"2026-04-26T19:56:45.123Z"}"#,
        )
        .unwrap();
        round_trip(&expert);
        round_trip(&client);
        round_trip(&rotated);
        for debug in [
            format!("{expert:?}"),
            format!("{client:?}"),
            format!("{rotated:?}"),
        ] {
            assert!(debug.contains("[redacted]"));
            assert!(!debug.contains("secret"), "{debug}");
        }
        let revoked: ClientRevoked =
            serde_json::from_str(r#"{"keyId":"k1","status":"revoked"}"#).unwrap();
        round_trip(&revoked);
        let json = r#"{"requestId":"cm1","status":"expired"}"#;
        let expired: RequestExpired = serde_json::from_str(json).unwrap();
        assert_eq!(expired.status, Status::Expired);
        assert_eq!(serde_json::to_string(&expired).unwrap(), json);
    }
}

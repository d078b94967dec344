//! The wire shapes of `POST /help`, `GET /help/:id` and the timeout report.

use serde_json::json;

use super::*;

const SIGN: &str =
    "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const ENC: &str =
    "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59";

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

#[test]
fn builder_writes_only_what_was_set() {
    let request = CreateHelpRequest::new("hs_cli_secret0001", SIGN, ENC)
        .with_question("May I drop the staging database?")
        .requiring_approval();
    let value = serde_json::to_value(&request).unwrap();
    assert_eq!(
        value,
        json!({
            "apiKey": "hs_cli_secret0001",
            "signPublicKey": SIGN,
            "encryptPublicKey": ENC,
            "question": "May I drop the staging database?",
            "requiresApproval": true
        })
    );
    let back: CreateHelpRequest = serde_json::from_value(value).unwrap();
    assert_eq!(back, request);
    assert!(back.approval_requested());
    assert!(back.response_expected());
}

#[test]
fn debug_never_shows_the_key() {
    let request = CreateHelpRequest::new("hs_cli_secret0001", SIGN, ENC).as_notification();
    let debug = format!("{request:?}");
    assert!(!debug.contains("secret0001"));
    assert!(debug.contains("[redacted]"));
    assert!(!request.response_expected());
}

#[test]
fn parses_a_full_request_with_nulls_and_unknown_members() {
    let json = r#"{"apiKey":"hs_cli_playwright0001","signPublicKey":"s","encryptPublicKey":"e",
        "publicKey":null,"question":"Deploy?","messages":[{"role":"user","content":"hi"}],
        "messageCount":5,"requiresApproval":null,"responseRequired":false,
        "questionPreview":"Deploy?","expertName":"alice","plaintext":"ignored",
        "sealedQuestion":{"ciphertext":"rhnmoFnW4+fVDSYA","iv":"AAECAwQFBgcICQoL",
        "authTag":"3IEnij4DQoKOuMLKJFCmww==","signature":"c2ln",
        "messageId":"00000000-0000-4000-8000-000000000000"},"expertFingerprint":"ab12"}"#;
    let request: CreateHelpRequest = serde_json::from_str(json).unwrap();
    assert_eq!(request.public_key, None);
    assert_eq!(request.requires_approval, None);
    assert_eq!(request.response_required, Some(false));
    assert_eq!(request.message_count, Some(5));
    assert_eq!(request.messages.as_ref().map(Vec::len), Some(1));
    let sealed = request.sealed_question.as_ref().unwrap();
    assert_eq!(
        sealed.message_id.as_str(),
        "00000000-0000-4000-8000-000000000000"
    );
    assert_eq!(request.expert_fingerprint.as_deref(), Some("ab12"));
    let again: CreateHelpRequest =
        serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
    assert_eq!(again, request);
}

#[test]
fn legacy_public_key_request() {
    let json = r#"{"apiKey":"hs_x","publicKey":"-----BEGIN PUBLIC KEY-----"}"#;
    let request: CreateHelpRequest = serde_json::from_str(json).unwrap();
    assert_eq!(request.sign_public_key, None);
    assert!(request.public_key.is_some());
}

#[test]
fn golden_create_response() {
    let json = r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"pending","expiresAt":"2026-04-28T19:56:45.123Z"}"#;
    let response: CreateHelpResponse = serde_json::from_str(json).unwrap();
    let expected = CreateHelpResponse {
        request_id: RequestId::new("cm1"),
        ref_code: RefCode::parse("HS-7K2QX9LB").unwrap(),
        status: Status::Pending,
        expires_at: ts("2026-04-28T19:56:45.123Z"),
        response_required: None,
    };
    assert_eq!(response, expected);
    assert_eq!(serde_json::to_string(&response).unwrap(), json);
}

#[test]
fn notification_create_response_with_extras() {
    let json = r#"{"requestId":"cm2","refCode":"HS-AAAAAAAA","status":"pending",
        "responseRequired":false,"expiresAt":"2026-05-02T19:56:45.123Z",
        "serverPublicKey":"-----BEGIN PUBLIC KEY-----","phoneFirstAttempted":false}"#;
    let response: CreateHelpResponse = serde_json::from_str(json).unwrap();
    assert_eq!(response.response_required, Some(false));
}

#[test]
fn create_outcome_tells_created_from_rejected() {
    let created = r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"pending","expiresAt":"2026-04-28T19:56:45.123Z"}"#;
    assert!(matches!(
        serde_json::from_str::<CreateHelpOutcome>(created).unwrap(),
        CreateHelpOutcome::Created(_)
    ));
    let rejected = r#"{"rejected":true,"reason":"expert_unavailable","nextAvailableAt":null,"message":"Try again later."}"#;
    let CreateHelpOutcome::Rejected(body) = serde_json::from_str(rejected).unwrap() else {
        panic!("expected a rejection");
    };
    assert_eq!(body.reason.as_deref(), Some("expert_unavailable"));
    assert_eq!(body.next_available_at, None);
}

#[test]
fn golden_status_response() {
    let json = r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"responded","createdAt":"2026-04-25T19:56:45.123Z","expiresAt":"2026-04-28T19:56:45.123Z","approvalDecision":"approved","respondedAt":"2026-04-25T20:01:00.000Z","response":"Yes, go ahead."}"#;
    let status: HelpStatusResponse = serde_json::from_str(json).unwrap();
    assert_eq!(status.status, Status::Responded);
    assert_eq!(status.approval_decision, Some(ApprovalDecision::Approved));
    assert_eq!(status.created_at, Some(ts("2026-04-25T19:56:45.123Z")));
    assert_eq!(status.responded_at, Some(ts("2026-04-25T20:01:00.000Z")));
    assert_eq!(status.response.as_deref(), Some("Yes, go ahead."));
    assert_eq!(serde_json::to_string(&status).unwrap(), json);
}

#[test]
fn reduced_status_nulls_and_unknown_status() {
    let reduced: HelpStatusResponse =
        serde_json::from_str(r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"expired"}"#)
            .unwrap();
    assert_eq!(reduced.status, Status::Expired);
    assert_eq!(reduced.created_at, None);
    let odd: HelpStatusResponse = serde_json::from_str(
        r#"{"requestId":"cm1","refCode":"HS-7K2QX9LB","status":"escalated","createdAt":null,
        "expiresAt":null,"approvalDecision":null,"respondedAt":null,"response":null,
        "encryptedResponse":"x.y.z.w"}"#,
    )
    .unwrap();
    assert_eq!(odd.status, Status::Unknown("escalated".into()));
    assert_eq!(odd.approval_decision, None);
    assert_eq!(odd.response, None);
}

#[test]
fn golden_timeout_responses() {
    let first: TimeoutResponse = serde_json::from_str(
        r#"{"ok":true,"timeoutFallback":"proceed_cautiously","fallbackInstruction":"Proceed carefully."}"#,
    )
    .unwrap();
    assert!(first.ok);
    assert_eq!(
        first.timeout_fallback.as_deref(),
        Some("proceed_cautiously")
    );
    let repeated: TimeoutResponse =
        serde_json::from_str(r#"{"ok":true,"alreadyTimedOut":true}"#).unwrap();
    assert_eq!(repeated.already_timed_out, Some(true));
    let done: TimeoutResponse =
        serde_json::from_str(r#"{"ok":true,"status":"responded"}"#).unwrap();
    assert_eq!(done.status, Some(Status::Responded));
    assert_eq!(
        serde_json::to_string(&done).unwrap(),
        r#"{"ok":true,"status":"responded"}"#
    );
}

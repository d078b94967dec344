//! The HTTP shapes of the core's results: every outcome as `/v1/ask` answers it, a created
//! request as `POST /api/v1/help` answers it, and every error's status and body.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use heysummon_sdk::safety::FlagType;
use heysummon_sdk::wire::{ErrorBody, RefCode, RequestId, Status};
use hyper::StatusCode;
use serde_json::json;

use super::reply;
use crate::ask::{AskError, AskKind, AskOutcome, BlockedFlag, Submitted, Ticket};
use crate::response::Refusal;

fn ticket(kind: AskKind) -> Ticket {
    Ticket::new(
        RequestId::new("req-1"),
        RefCode::parse("HS-ABCD1234").unwrap(),
        kind,
    )
}

#[test]
fn outcomes_keep_their_json() {
    let ids = json!({"requestId": "req-1", "refCode": "HS-ABCD1234"});
    let with = |members: serde_json::Value| {
        let mut all = ids.clone();
        all.as_object_mut()
            .unwrap()
            .extend(members.as_object().unwrap().clone());
        all
    };
    let question = ticket(AskKind::Question);
    let approval = ticket(AskKind::Approval);
    for (outcome, expected) in [
        (
            AskOutcome::Answered {
                ticket: question.clone(),
                text: "Yes".into(),
                end_to_end: true,
            },
            with(json!({"status": "responded", "answer": "Yes", "endToEnd": true})),
        ),
        (
            AskOutcome::Approved {
                ticket: approval.clone(),
                comment: Some("go".into()),
            },
            with(json!({"status": "approved", "approved": true, "comment": "go"})),
        ),
        (
            AskOutcome::Denied {
                ticket: approval.clone(),
                comment: None,
            },
            with(json!({"status": "denied", "approved": false})),
        ),
        (
            AskOutcome::Pending {
                ticket: question.clone(),
                retry_after: Duration::from_secs(1),
            },
            with(json!({"status": "pending", "retryAfter": 1})),
        ),
        (
            AskOutcome::Pending {
                ticket: approval.clone(),
                retry_after: Duration::from_secs(1),
            },
            with(json!({"status": "pending", "retryAfter": 1, "approved": false})),
        ),
        (
            AskOutcome::Timeout {
                ticket: approval.clone(),
            },
            with(json!({"status": "timeout", "approved": false})),
        ),
        (
            AskOutcome::Ended {
                ticket: approval.clone(),
                status: Status::Expired,
            },
            with(json!({"status": "expired", "approved": false})),
        ),
        (
            AskOutcome::Ended {
                ticket: question.clone(),
                status: Status::Cancelled,
            },
            with(json!({"status": "cancelled"})),
        ),
    ] {
        assert_eq!(reply::outcome(&outcome), expected, "{outcome:?}");
    }
}

#[test]
fn created_requests_in_the_servers_shape() {
    let submitted = Submitted {
        ticket: ticket(AskKind::Notification),
        sealed: true,
        expires_at: None,
    };
    assert_eq!(
        reply::submitted(&submitted),
        json!({
            "requestId": "req-1", "refCode": "HS-ABCD1234", "status": "active",
            "expiresAt": null, "sealed": true, "responseRequired": false,
        })
    );
}

#[test]
fn errors_keep_their_status_and_body() {
    let refusal = |error: AskError| Refusal::from(error);
    let invalid = refusal(AskError::InvalidInput("question is required".into()));
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.body,
        json!({"error": "Validation failed", "details": "question is required"})
    );
    let blocked = refusal(AskError::ContentBlocked {
        flags: vec![
            BlockedFlag {
                kind: FlagType::CreditCard,
                field: Some("question".into()),
            },
            BlockedFlag {
                kind: FlagType::SsnBsn,
                field: None,
            },
        ],
    });
    assert_eq!(blocked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        blocked.body,
        json!({"error": "Content blocked by safety filter", "flags": [
            {"type": "credit_card", "field": "question"}, {"type": "ssn_bsn"}
        ]})
    );
    let server = refusal(AskError::Unauthorized {
        status: 401,
        body: Some(Box::new(
            ErrorBody::new("Invalid API key").with_code("BAD_KEY"),
        )),
    });
    assert_eq!(server.status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.body["code"], "BAD_KEY");
    let bare = refusal(AskError::Rejected {
        status: 500,
        body: None,
    });
    assert_eq!(bare.status, StatusCode::INTERNAL_SERVER_ERROR);
    let changed = refusal(AskError::ExpertKeyChanged {
        pinned: "aa".into(),
        published: None,
    });
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert_eq!(changed.body["code"], "EXPERT_KEY_CHANGED");
    assert_eq!(changed.body["published"], serde_json::Value::Null);
    let encryption = refusal(AskError::EncryptionUnavailable("no keys".into()));
    assert_eq!(encryption.body["code"], "ENCRYPTION_UNAVAILABLE");
    assert_eq!(refusal(AskError::NotFound).status, StatusCode::NOT_FOUND);
    let slow = refusal(AskError::ServerTimeout {
        waited: Duration::from_millis(1500),
    });
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(slow.body["waitedMs"], 1500);
    let forged = refusal(AskError::Unauthenticated);
    assert_eq!(forged.status, StatusCode::BAD_GATEWAY);
    let store = refusal(AskError::KeyStore(heysummon_sdk::Error::KeyStore {
        message: "disk full".into(),
        source: None,
    }));
    assert_eq!(store.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!store.body.to_string().contains("disk"));
}

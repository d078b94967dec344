//! The core on its own, without HTTP and without a server: input validation and what is refused
//! before anything is sent, every outcome from what a wait heard (approvals fail closed), and
//! the translation of the SDK's errors.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use heysummon_sdk::keystore::MemoryKeyStore;
use heysummon_sdk::safety::FlagType;
use heysummon_sdk::wire::{ApprovalDecision, ErrorBody, RefCode, RequestId, Status};
use heysummon_sdk::{Client, NetworkErrorKind};
use tokio::time::Instant;

use super::wait::{Heard, outcome};
use super::*;
use crate::config::SafetyMode;

/// An asker whose server does not exist: anything that reaches the network fails with
/// [`AskError::Unreachable`], so every other answer was given before sending.
fn offline() -> Asker {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .api_key("hs_cli_offline")
        .key_store(MemoryKeyStore::new())
        .retries(1, heysummon_sdk::client::BackoffPolicy::default())
        .build()
        .unwrap();
    Asker::new(client)
}

fn ticket(kind: AskKind) -> Ticket {
    Ticket::new(
        RequestId::new("req-1"),
        RefCode::parse("HS-ABCD1234").unwrap(),
        kind,
    )
}

fn invalid(result: Result<(), AskError>) -> String {
    match result {
        Err(AskError::InvalidInput(message)) => message,
        other => panic!("not invalid input: {other:?}"),
    }
}

#[test]
fn inputs_are_validated() {
    assert!(AskInput::question("Ship it?").validate().is_ok());
    for blank in ["", "  \n\t"] {
        let message = invalid(AskInput::question(blank).validate());
        assert_eq!(message, "question is required");
    }
    for timeout in [Duration::ZERO, Duration::from_millis(999), MAX_TIMEOUT * 2] {
        let input = AskInput::approval("Deploy?").with_timeout(timeout);
        assert!(invalid(input.validate()).starts_with("timeout must be"));
    }
    let input = AskInput::approval("Deploy?").with_timeout(MAX_TIMEOUT);
    assert!(input.validate().is_ok());
    let defaults = AskInput::notification("FYI");
    assert_eq!(defaults.kind, AskKind::Notification);
    assert_eq!(defaults.wait, DEFAULT_WAIT);
    assert_eq!(defaults.encryption, Encryption::Preferred);
    assert_eq!((defaults.timeout, &defaults.idempotency_key), (None, &None));
    assert!(!format!("{defaults:?}").contains("FYI"), "no text in Debug");
}

#[tokio::test]
async fn refusals_come_before_anything_is_sent() {
    let asker = offline();
    let blank = asker.ask(&AskInput::question(" ")).await;
    assert!(matches!(blank, Err(AskError::InvalidInput(_))), "{blank:?}");
    let submitted = asker.submit(&AskInput::approval("")).await;
    assert!(matches!(submitted, Err(AskError::InvalidInput(_))));

    let card = AskInput::question("Charge 4111 1111 1111 1111?")
        .with_context(vec![serde_json::json!({"content": "mail a@example.com"})]);
    let Err(AskError::ContentBlocked { flags }) = asker.ask(&card).await else {
        panic!("not blocked");
    };
    let kinds: Vec<_> = flags.iter().map(|f| (f.kind, f.field.as_deref())).collect();
    assert_eq!(
        kinds,
        [
            (FlagType::CreditCard, Some("question")),
            (FlagType::Email, Some("messages[0].content")),
        ]
    );
    // Flag-only mode lets it through (to the missing server); so does a front end's own scan.
    let flagging = offline().with_safety(SafetyMode::Flag);
    assert!(matches!(
        flagging.ask(&card).await,
        Err(AskError::Unreachable(_))
    ));
    assert!(matches!(
        asker.ask(&card.clone().already_scanned()).await,
        Err(AskError::Unreachable(_))
    ));

    let sealed_only = AskInput::question("Secret?").with_encryption(Encryption::Required);
    let refused = asker.ask(&sealed_only).await;
    assert!(
        matches!(refused, Err(AskError::EncryptionUnavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn only_requests_of_this_key_store_resume() {
    let asker = offline();
    let id = RequestId::new("someone-elses");
    let resumed = asker.resume(&id, Duration::from_secs(1)).await;
    assert!(matches!(resumed, Err(AskError::NotFound)), "{resumed:?}");
    assert!(asker.conversation(&id).unwrap().is_none());
}

#[test]
fn every_outcome_from_what_was_heard() {
    let question = ticket(AskKind::Question);
    let approval = ticket(AskKind::Approval);
    let answered = outcome(
        question.clone(),
        Heard::Answer {
            text: "Yes".into(),
            end_to_end: true,
        },
        false,
    );
    assert_eq!(
        answered,
        AskOutcome::Answered {
            ticket: question.clone(),
            text: "Yes".into(),
            end_to_end: true
        }
    );
    let decided = |decision| Heard::Decision {
        decision,
        comment: Some("ok".into()),
    };
    let approved = outcome(approval.clone(), decided(ApprovalDecision::Approved), false);
    assert!(approved.is_approved());
    assert!(!approved.is_open());
    let denied = outcome(approval.clone(), decided(ApprovalDecision::Denied), false);
    assert!(matches!(
        denied,
        AskOutcome::Denied {
            comment: Some(_),
            ..
        }
    ));

    let pending = outcome(approval.clone(), Heard::Nothing, false);
    assert_eq!(
        pending,
        AskOutcome::Pending {
            ticket: approval.clone(),
            retry_after: Duration::from_secs(1)
        }
    );
    let timeout = outcome(approval.clone(), Heard::Nothing, true);
    assert_eq!(
        timeout,
        AskOutcome::Timeout {
            ticket: approval.clone()
        }
    );
    assert!(pending.is_open() && timeout.is_open());
    for status in [Status::Expired, Status::Cancelled, Status::Closed] {
        let ended = outcome(approval.clone(), Heard::Ended(status.clone()), false);
        assert_eq!(
            ended,
            AskOutcome::Ended {
                ticket: approval.clone(),
                status
            }
        );
    }
    assert_eq!(answered.ticket(), &question);
}

#[test]
fn approvals_fail_closed() {
    let approval = ticket(AskKind::Approval);
    for heard in [
        Heard::Nothing,
        Heard::Ended(Status::Expired),
        Heard::Ended(Status::Cancelled),
        Heard::Ended(Status::Responded),
        Heard::Answer {
            text: "approved".into(),
            end_to_end: false,
        },
    ] {
        for timed_out in [false, true] {
            let outcome = outcome(approval.clone(), heard.clone(), timed_out);
            assert!(!outcome.is_approved(), "{heard:?} → {outcome:?}");
        }
    }
    // A decision on a request that was not an approval request approves nothing.
    let question = ticket(AskKind::Question);
    let heard = Heard::Decision {
        decision: ApprovalDecision::Approved,
        comment: None,
    };
    assert!(!outcome(question, heard, false).is_approved());
}

#[test]
fn deadlines_are_shared_between_clones() {
    let deadlines = Deadlines::new();
    let asker = offline().with_deadlines(deadlines.clone());
    let at = Instant::now() + Duration::from_secs(5);
    asker.deadlines().set(RequestId::new("r"), at);
    assert_eq!(deadlines.get(&RequestId::new("r")), Some(at));
    assert_eq!(deadlines.get(&RequestId::new("other")), None);
}

#[test]
fn sdk_errors_are_told_apart_in_one_place() {
    let http = |status: u16| heysummon_sdk::Error::Http {
        status,
        body: Some(Box::new(ErrorBody::new("nope"))),
        retry_after: None,
    };
    let unauthorized = AskError::from(http(401));
    assert!(matches!(
        unauthorized,
        AskError::Unauthorized { status: 401, .. }
    ));
    assert!(unauthorized.is_configuration() && !unauthorized.is_retryable());
    let unavailable = AskError::from(http(503));
    assert!(matches!(
        unavailable,
        AskError::Rejected { status: 503, .. }
    ));
    assert!(unavailable.is_retryable() && !unavailable.is_configuration());
    let network = AskError::from(heysummon_sdk::Error::Network {
        kind: NetworkErrorKind::Connect,
        source: "refused".into(),
    });
    assert!(matches!(network, AskError::Unreachable(_)) && network.is_retryable());
    let blocked = AskError::from(heysummon_sdk::Error::ContentBlocked {
        flags: vec![FlagType::CreditCard, FlagType::SsnBsn],
    });
    let AskError::ContentBlocked { flags } = blocked else {
        panic!("not blocked");
    };
    assert_eq!(
        flags,
        [
            BlockedFlag {
                kind: FlagType::CreditCard,
                field: None
            },
            BlockedFlag {
                kind: FlagType::SsnBsn,
                field: None
            },
        ]
    );
    let unknown = heysummon_sdk::Error::UnknownRequest {
        request_id: "r".into(),
    };
    assert!(matches!(AskError::from(unknown), AskError::NotFound));
    let config = heysummon_sdk::Error::Config {
        message: "idempotency key must be 1 to 255 characters".into(),
        source: None,
    };
    assert!(matches!(AskError::from(config), AskError::InvalidInput(m) if m.contains("255")));
    assert!(matches!(
        AskError::from(heysummon_sdk::Error::Crypto),
        AskError::Unauthenticated
    ));
}

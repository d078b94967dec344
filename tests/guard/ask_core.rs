//! The guard's ask core driven directly, without its HTTP front end, against a real server:
//! every outcome, resuming by request id, and approvals that fail closed.

use std::time::Duration;

use heysummon_guard::ask::{AskError, AskInput, AskKind, AskOutcome, Encryption, Ticket};
use heysummon_sdk::wire::{ApprovalDecision, Status};

use crate::common::{GuardHandle, TestApp, expert};

/// Asks without waiting: the ticket of the pending request.
async fn pending(asker: &heysummon_guard::Asker, input: AskInput) -> Ticket {
    match asker.ask(&input.with_wait(Duration::ZERO)).await.unwrap() {
        AskOutcome::Pending { ticket, .. } => ticket,
        other => panic!("not pending: {other:?}"),
    }
}

/// Resumes, waiting up to 10 s.
async fn resume(asker: &heysummon_guard::Asker, ticket: &Ticket) -> Result<AskOutcome, AskError> {
    asker
        .resume(&ticket.request_id, Duration::from_secs(10))
        .await
}

#[tokio::test]
async fn the_core_asks_resumes_and_fails_closed() {
    let server = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let guard = GuardHandle::start(&server.base, &server.client_key, &dir.path().join("k")).await;
    guard.guard.enroll().await.unwrap();
    let asker = guard.guard.e2e().asker().clone();
    let expert = expert(&server);

    // Encryption required while the expert has published no keys: nothing is sent.
    let sealed_only = AskInput::question("Sealed only?").with_encryption(Encryption::Required);
    let refused = asker.ask(&sealed_only).await;
    assert!(
        matches!(refused, Err(AskError::EncryptionUnavailable(_))),
        "{refused:?}"
    );
    assert_eq!(server.request_count().await, 0);
    expert.publish_keys().await.unwrap();

    // A question: pending, then resumed to the answer, sealed both ways.
    let ticket = pending(&asker, sealed_only.clone()).await;
    assert_eq!(ticket.kind, AskKind::Question);
    expert.reply(&ticket.request_id, "eu-west-1").await.unwrap();
    assert_eq!(
        resume(&asker, &ticket).await.unwrap(),
        AskOutcome::Answered {
            ticket: ticket.clone(),
            text: "eu-west-1".into(),
            end_to_end: true,
        }
    );

    // Explicit decisions.
    for decision in [ApprovalDecision::Approved, ApprovalDecision::Denied] {
        let ticket = pending(&asker, AskInput::approval("Restart the cluster?")).await;
        expert.decide(&ticket.request_id, decision).await.unwrap();
        let decided = resume(&asker, &ticket).await.unwrap();
        assert_eq!(
            decided.is_approved(),
            decision == ApprovalDecision::Approved
        );
        assert!(matches!(
            decided,
            AskOutcome::Approved { .. } | AskOutcome::Denied { .. }
        ));
    }

    // Nobody decides in time: a timeout, and still a timeout once the expert approves late.
    let late = AskInput::approval("Drop the orders table?").with_timeout(Duration::from_secs(1));
    let timed_out = asker.ask(&late).await.unwrap();
    let AskOutcome::Timeout { ticket } = timed_out else {
        panic!("not a timeout: {timed_out:?}");
    };
    expert
        .decide(&ticket.request_id, ApprovalDecision::Approved)
        .await
        .unwrap();
    assert_eq!(
        resume(&asker, &ticket).await.unwrap(),
        AskOutcome::Timeout { ticket }
    );

    // Closed without a decision: ended, never approved.
    let ticket = pending(&asker, AskInput::approval("Rotate the keys?")).await;
    expert.close(&ticket.request_id).await.unwrap();
    let closed = resume(&asker, &ticket).await.unwrap();
    assert_eq!(
        closed,
        AskOutcome::Ended {
            ticket,
            status: Status::Closed
        }
    );

    // A notification is delivered, and nobody answers it.
    let notified = asker
        .ask(&AskInput::notification("The deploy finished"))
        .await
        .unwrap();
    assert!(matches!(
        notified,
        AskOutcome::Notified { ref ticket } if ticket.kind == AskKind::Notification
    ));
}

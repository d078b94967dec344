use super::plan::{Plan, plan};
use super::*;
use heysummon_sdk::wire::Sender;

fn request(status: Status) -> RequestRecord {
    RequestRecord {
        status,
        question: Some("q".into()),
        consumer_sign_key: Some("s".into()),
        consumer_encrypt_key: Some("e".into()),
        ..RequestRecord::new(
            "r1".into(),
            "HS-ABCDEFGH".into(),
            "k1".into(),
            "e1".into(),
            0,
            1_000,
        )
    }
}

fn message() -> MessageRecord {
    MessageRecord {
        id: "m1".into(),
        request_id: "r1".into(),
        sender: Sender::Expert,
        ciphertext: "eA==".into(),
        iv: "plaintext".into(),
        auth_tag: "plaintext".into(),
        signature: "plaintext".into(),
        message_id: "mid".into(),
        plaintext: Some("x".into()),
        created_at: 10,
    }
}

fn new_status(plan: Result<Plan, Refusal>) -> Option<Status> {
    match plan {
        Ok(Plan::Apply { patch, .. }) => patch.status,
        Ok(Plan::Nothing) => None,
        Err(refusal) => panic!("refused: {refusal:?}"),
    }
}

const TERMINAL: [Status; 4] = [
    Status::Closed,
    Status::Expired,
    Status::Cancelled,
    Status::Acknowledged,
];

#[test]
fn nothing_leaves_a_terminal_state() {
    let actions = [
        Action::Close { by: Actor::Admin },
        Action::Review,
        Action::KeyExchange {
            sign: "s".into(),
            encrypt: "e".into(),
        },
        Action::ExpertMessage {
            message: message(),
            decision: Some(ApprovalDecision::Approved),
        },
        Action::ConsumerMessage { message: message() },
        Action::Acknowledge { by: Actor::Admin },
        Action::Cancel { by: Actor::Admin },
        Action::ExpireNow,
        Action::Expire,
    ];
    for status in TERMINAL {
        for action in &actions {
            match plan(&request(status.clone()), action, 5) {
                Ok(Plan::Nothing) | Err(_) => {}
                Ok(Plan::Apply { patch, .. }) => {
                    assert!(
                        patch.status.is_none(),
                        "{status:?} {action:?} → {:?}",
                        patch.status
                    )
                }
            }
        }
    }
}

#[test]
fn expert_answer_moves_to_responded_once() {
    let plan1 = plan(
        &request(Status::Pending),
        &Action::ExpertMessage {
            message: message(),
            decision: None,
        },
        5,
    );
    match plan1 {
        Ok(Plan::Apply { patch, events, .. }) => {
            assert_eq!(patch.status, Some(Status::Responded));
            assert_eq!(patch.responded_at, Some(5));
            assert_eq!(events.len(), 2);
        }
        _ => panic!("expected a change"),
    }
    let mut answered = request(Status::Responded);
    answered.responded_at = Some(5);
    match plan(
        &answered,
        &Action::ExpertMessage {
            message: message(),
            decision: None,
        },
        9,
    ) {
        Ok(Plan::Apply { patch, events, .. }) => {
            assert_eq!(patch.responded_at, None);
            assert_eq!(events.len(), 1);
        }
        _ => panic!("expected a change"),
    }
}

#[test]
fn decisions_are_one_shot() {
    let mut approval = request(Status::Pending);
    approval.requires_approval = true;
    let decide = |decision| Action::Decide {
        decision,
        marker: message(),
        signed: None,
    };
    assert_eq!(
        new_status(plan(&approval, &decide(ApprovalDecision::Denied), 5)),
        Some(Status::Responded)
    );
    approval.approval_decision = Some(ApprovalDecision::Denied);
    approval.status = Status::Responded;
    assert!(matches!(
        plan(&approval, &decide(ApprovalDecision::Approved), 6),
        Err(Refusal::AlreadyDecided(ApprovalDecision::Denied))
    ));
    // A later message cannot flip the decision either.
    match plan(
        &approval,
        &Action::ExpertMessage {
            message: message(),
            decision: Some(ApprovalDecision::Approved),
        },
        7,
    ) {
        Ok(Plan::Apply { patch, .. }) => assert_eq!(patch.approval_decision, None),
        _ => panic!("expected the message to be stored"),
    }
    assert!(matches!(
        plan(
            &request(Status::Pending),
            &decide(ApprovalDecision::Approved),
            5
        ),
        Err(Refusal::NotAnApproval)
    ));
}

#[test]
fn expiry_needs_the_ttl_unless_forced() {
    assert!(matches!(
        plan(&request(Status::Pending), &Action::Expire, 999),
        Ok(Plan::Nothing)
    ));
    for status in [
        Status::Pending,
        Status::Reviewing,
        Status::Active,
        Status::Responded,
    ] {
        assert_eq!(
            new_status(plan(&request(status.clone()), &Action::Expire, 1_000)),
            Some(Status::Expired)
        );
        assert_eq!(
            new_status(plan(&request(status), &Action::ExpireNow, 0)),
            Some(Status::Expired)
        );
    }
}

#[test]
fn notifications_acknowledge_and_refuse_messages_and_close() {
    let mut notification = request(Status::Pending);
    notification.response_required = false;
    assert_eq!(
        new_status(plan(
            &notification,
            &Action::Acknowledge { by: Actor::Admin },
            5
        )),
        Some(Status::Acknowledged)
    );
    assert!(matches!(
        plan(&notification, &Action::Close { by: Actor::Admin }, 5),
        Err(Refusal::NotApplicable)
    ));
    assert!(matches!(
        plan(
            &notification,
            &Action::ConsumerMessage { message: message() },
            5
        ),
        Err(Refusal::NoResponseRequired)
    ));
    notification.status = Status::Acknowledged;
    assert!(matches!(
        plan(&notification, &Action::Close { by: Actor::Admin }, 5),
        Ok(Plan::Nothing)
    ));
    assert!(matches!(
        plan(
            &request(Status::Pending),
            &Action::Acknowledge { by: Actor::Admin },
            5
        ),
        Err(Refusal::NotApplicable)
    ));
}

#[test]
fn key_exchange_never_moves_an_answer_backwards() {
    let keys = Action::KeyExchange {
        sign: "s".into(),
        encrypt: "e".into(),
    };
    assert_eq!(
        new_status(plan(&request(Status::Pending), &keys, 5)),
        Some(Status::Active)
    );
    assert_eq!(
        new_status(plan(&request(Status::Responded), &keys, 5)),
        Some(Status::Responded)
    );
    let mut exchanged = request(Status::Active);
    exchanged.expert_sign_key = Some("s".into());
    assert!(matches!(
        plan(&exchanged, &keys, 5),
        Err(Refusal::KeysAlreadyExchanged)
    ));
    // A notification takes no messages, so no keys either: it stays pending.
    let notification = RequestRecord {
        response_required: false,
        ..request(Status::Pending)
    };
    assert!(matches!(
        plan(&notification, &keys, 5),
        Err(Refusal::NoResponseRequired)
    ));
}

#[test]
fn rating_needs_an_answer_and_happens_once() {
    let rate = Action::Rate {
        rating: 5,
        feedback: None,
    };
    assert!(matches!(
        plan(&request(Status::Pending), &rate, 5),
        Err(Refusal::NotRateable(Status::Pending))
    ));
    let mut answered = request(Status::Responded);
    answered.responded_at = Some(3);
    assert!(matches!(plan(&answered, &rate, 5), Ok(Plan::Apply { .. })));
    answered.rating = Some(4);
    assert!(matches!(
        plan(&answered, &rate, 5),
        Err(Refusal::AlreadyRated(4))
    ));
}

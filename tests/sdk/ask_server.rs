//! `Client::ask`, approvals, notifications, conversations, restart-safe waiting and the
//! `ExpertClient` against a real heysummon-server on 127.0.0.1:0 (temporary SQLite file).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::support::{Server, quick};
use futures_util::StreamExt as _;
use heysummon_sdk::Error;
use heysummon_sdk::client::{AskOptions, Content, EncryptionPolicy, WaitOptions};
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::keystore::{FileKeyStore, MemoryKeyStore};
use heysummon_sdk::safety::FlagType;
use heysummon_sdk::wire::{ApprovalDecision, RequestId, Sender, Status};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn sealed_loop_keeps_question_and_answer_out_of_the_server() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let expert = server.expert(FileKeyStore::open(dir.path().join("expert")).unwrap());
    let fingerprint = expert.publish_keys().await.unwrap();
    let agent = server
        .agent_builder(FileKeyStore::open(dir.path().join("agent")).unwrap())
        .encryption(EncryptionPolicy::Required)
        .build()
        .unwrap();

    let question = "Q-7f3a: may I rotate the payroll database password?";
    let answer_text = "A-91c2: yes, after the 14:00 backup";
    let asking = tokio::spawn({
        let agent = agent.clone();
        async move { agent.ask_with(question, quick()).await }
    });

    let mut incoming = Box::pin(expert.requests(WaitOptions::new()));
    let request = tokio::time::timeout(LIMIT, incoming.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        request.question, None,
        "a sealed question is not in the feed"
    );
    let opened = expert.open(&request.request_id).await.unwrap();
    assert!(opened.sealed);
    assert_eq!(opened.question, question);
    expert
        .reply(&request.request_id, answer_text)
        .await
        .unwrap();

    let answer = tokio::time::timeout(LIMIT, asking)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer.text, answer_text);
    assert!(answer.end_to_end);
    assert_eq!(answer.request_id, request.request_id);
    let texts: Vec<_> = answer
        .conversation
        .iter()
        .map(|m| (m.from, m.content.clone(), m.end_to_end))
        .collect();
    assert_eq!(
        texts,
        vec![
            (Sender::Consumer, Content::Text(question.into()), true),
            (Sender::Expert, Content::Text(answer_text.into()), true),
        ]
    );
    // The pin was recorded on first use.
    let experts = agent.experts().await.unwrap();
    assert_eq!(
        experts[0].fingerprint.as_deref(),
        Some(fingerprint.to_string().as_str())
    );

    // Neither the question nor the answer is anywhere in the database files.
    for needle in ["Q-7f3a", "A-91c2", "payroll", "14:00 backup"] {
        assert!(
            !server.database_contains(needle.as_bytes()).await,
            "{needle} found in the database"
        );
    }
}

#[tokio::test]
async fn heysummon_compatible_flow_with_follow_ups() {
    let server = Server::start().await;
    // The expert has published no keys: Preferred falls back to the v1 flow.
    let expert = server.expert(MemoryKeyStore::new());
    let agent = server.agent(MemoryKeyStore::new());
    let conversation = agent
        .submit("Which region should I deploy to?", &AskOptions::new())
        .await
        .unwrap();
    assert!(!conversation.is_sealed());

    let opened = expert.open(conversation.request_id()).await.unwrap();
    assert!(!opened.sealed);
    assert_eq!(opened.question, "Which region should I deploy to?");
    // The reply exchanges keys first, then goes encrypted.
    expert
        .reply(conversation.request_id(), "eu-west-1")
        .await
        .unwrap();
    let answer = conversation.answer(quick().wait).await.unwrap();
    assert_eq!(answer.text, "eu-west-1");
    assert!(answer.end_to_end);

    // A follow-up goes encrypted to the exchanged keys; replies stream in, woken by the
    // client's shared event stream (the safety-net re-read is a minute away).
    let slow_rereads = WaitOptions::new().with_smart_poll(
        Duration::from_secs(60),
        Duration::from_secs(3600),
        Duration::from_secs(300),
    );
    let mut replies = Box::pin(conversation.replies(slow_rereads));
    let first = replies.next().await.unwrap().unwrap();
    assert_eq!(first.content, Content::Text("eu-west-1".into()));
    conversation
        .send("And for the EU customers?")
        .await
        .unwrap();
    let opened = expert.open(conversation.request_id()).await.unwrap();
    let last = opened.messages.last().unwrap();
    assert_eq!(
        last.content,
        Content::Text("And for the EU customers?".into())
    );
    assert!(last.end_to_end);
    expert
        .reply(conversation.request_id(), "Frankfurt")
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), replies.next())
        .await
        .expect("the reply was not announced on the event stream")
        .unwrap()
        .unwrap();
    assert_eq!(second.content, Content::Text("Frankfurt".into()));

    // Close and rate; the replies stream ends with the conversation.
    conversation.rate(5, Some("quick and right")).await.unwrap();
    let closed = conversation.close().await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert!(
        tokio::time::timeout(LIMIT, replies.next())
            .await
            .unwrap()
            .is_none()
    );
    let again = conversation.rate(4, None).await.unwrap_err();
    assert_eq!(again.http_status(), Some(409));
    assert!(matches!(
        conversation.rate(9, None).await.unwrap_err(),
        Error::Config { .. }
    ));
}

#[tokio::test]
async fn required_encryption_without_published_keys_sends_nothing() {
    let server = Server::start().await;
    let agent = server
        .agent_builder(MemoryKeyStore::new())
        .encryption(EncryptionPolicy::Required)
        .build()
        .unwrap();
    let error = agent.ask_with("secret plan", quick()).await.unwrap_err();
    assert!(matches!(error, Error::EncryptionUnavailable(_)), "{error}");
    assert_eq!(server.request_count().await, 0);
}

#[tokio::test]
async fn approvals_resolve_only_on_an_explicit_decision() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());

    for decision in [ApprovalDecision::Approved, ApprovalDecision::Denied] {
        let waiting = tokio::spawn({
            let agent = agent.clone();
            async move { agent.approval_with("Drop table users?", quick()).await }
        });
        let id = server.wait_for_pending(&expert).await;
        let opened = expert.open(&id).await.unwrap();
        assert_eq!(opened.question, "Drop table users?");
        expert.decide(&id, decision).await.unwrap();
        expert.ack(&id).await.unwrap();
        let approval = waiting.await.unwrap().unwrap();
        assert_eq!(approval.decision, decision);
        assert_eq!(
            approval.is_approved(),
            decision == ApprovalDecision::Approved
        );
    }

    // A decision with a comment.
    let waiting = tokio::spawn({
        let agent = agent.clone();
        async move { agent.approval_with("Restart the cluster?", quick()).await }
    });
    let id = server.wait_for_pending(&expert).await;
    expert
        .reply_with_decision(&id, "Only after 18:00", ApprovalDecision::Denied)
        .await
        .unwrap();
    expert.ack(&id).await.unwrap();
    let approval = waiting.await.unwrap().unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Denied);
    assert_eq!(approval.comment.as_deref(), Some("Only after 18:00"));

    // A reply without a decision does not end the wait; the deadline does, as an error.
    let options = AskOptions::new().with_timeout(Duration::from_secs(2));
    let waiting = tokio::spawn({
        let agent = agent.clone();
        async move { agent.approval_with("Ship it?", options).await }
    });
    let id = server.wait_for_pending(&expert).await;
    expert.reply(&id, "Let me check first").await.unwrap();
    let error = waiting.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");

    // Closed or expired without a decision: an error, never approval.
    let conversation_id = {
        let waiting = tokio::spawn({
            let agent = agent.clone();
            async move { agent.approval_with("Wipe staging?", quick()).await }
        });
        let id = server.wait_for_pending(&expert).await;
        expert.ack(&id).await.unwrap();
        expert.close(&id).await.unwrap();
        let error = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                Error::RequestEnded {
                    status: Status::Closed
                }
            ),
            "{error}"
        );
        id
    };
    let error = agent
        .resume_approval(&conversation_id, WaitOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RequestEnded { .. }), "{error}");

    let waiting = tokio::spawn({
        let agent = agent.clone();
        async move { agent.approval_with("Rotate keys?", quick()).await }
    });
    let id = server.wait_for_pending(&expert).await;
    server.expire(&id).await;
    let error = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            Error::RequestEnded {
                status: Status::Expired
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn notifications_are_acknowledged() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    let agent = server.agent(MemoryKeyStore::new());
    let notification = agent
        .notify("Nightly backup finished", AskOptions::new())
        .await
        .unwrap();
    let pending = expert.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].notification);
    assert_eq!(
        pending[0].question.as_deref(),
        Some("Nightly backup finished")
    );
    let acknowledged = notification.acknowledge().await.unwrap();
    assert_eq!(acknowledged.status, Status::Acknowledged);
    let status = notification.wait(quick().wait).await.unwrap();
    assert_eq!(status.status, Status::Acknowledged);
}

#[tokio::test]
async fn a_restarted_agent_resumes_and_decrypts_the_answer() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();

    // The first process asks and is killed mid-wait.
    let first = server.agent(FileKeyStore::open(dir.path()).unwrap());
    let asking = tokio::spawn(async move { first.ask_with("Can I reboot db-2?", quick()).await });
    let id = server.wait_for_pending(&expert).await;
    asking.abort();
    assert!(asking.await.unwrap_err().is_cancelled());

    // The expert answers while no agent is running.
    expert.reply(&id, "Yes, it is drained").await.unwrap();

    // A new process on the same key store resumes.
    let second = server.agent(FileKeyStore::open(dir.path()).unwrap());
    let answer = second.resume(&id, quick().wait).await.unwrap();
    assert_eq!(answer.text, "Yes, it is drained");
    assert!(answer.end_to_end);

    // Another key store knows nothing of it.
    let stranger = server.agent(MemoryKeyStore::new());
    let error = stranger.resume(&id, quick().wait).await.unwrap_err();
    assert!(matches!(error, Error::UnknownRequest { .. }), "{error}");
}

#[tokio::test]
async fn a_retried_ask_with_the_same_idempotency_key_pages_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let options = AskOptions::new()
        .with_idempotency_key("deploy-2026-12-01")
        .with_timeout(Duration::from_millis(300));

    let first = server.agent(FileKeyStore::open(dir.path()).unwrap());
    let error = first
        .ask_with("Deploy now?", options.clone())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");

    // After a crash: the same key store, the same key, the same request.
    let again = server.agent(FileKeyStore::open(dir.path()).unwrap());
    let conversation = again.submit("Deploy now?", &options).await.unwrap();
    // Another key store with the same key gets the server's original request, which it holds
    // no keys for: refused, and nobody is paged again.
    let amnesiac = server.agent(MemoryKeyStore::new());
    let error = amnesiac.submit("Deploy now?", &options).await.unwrap_err();
    assert!(matches!(error, Error::UnknownRequest { .. }), "{error}");
    assert_eq!(server.request_count().await, 1);
    assert_eq!(expert.pending().await.unwrap().len(), 1);

    // The original asker gets the answer.
    expert
        .reply(conversation.request_id(), "Go ahead")
        .await
        .unwrap();
    let answer = again
        .ask_with("Deploy now?", options.with_timeout(LIMIT))
        .await
        .unwrap();
    assert_eq!(answer.text, "Go ahead");
    assert_eq!(server.request_count().await, 1);
}

#[tokio::test]
async fn a_changed_expert_key_is_refused_never_re_pinned() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    let original = expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let conversation = agent.submit("First", &AskOptions::new()).await.unwrap();
    assert!(conversation.is_sealed());

    // The expert's keys change (a new device, or a server swapping keys).
    let replaced = server.expert(MemoryKeyStore::new());
    let new = replaced.publish_keys().await.unwrap();
    assert_ne!(original.to_string(), new.to_string());
    let error = agent.ask_with("Second", quick()).await.unwrap_err();
    match &error {
        Error::ExpertKeyChanged {
            pinned, published, ..
        } => {
            assert_eq!(pinned, &original.to_string());
            assert_eq!(published.as_deref(), Some(new.to_string().as_str()));
        }
        other => panic!("expected ExpertKeyChanged, got {other}"),
    }
    // Still refused the next time: the pin was not replaced.
    assert!(matches!(
        agent.ask_with("Third", quick()).await.unwrap_err(),
        Error::ExpertKeyChanged { .. }
    ));
    assert_eq!(server.request_count().await, 1);

    // A fingerprint pinned in configuration is authoritative.
    let configured = server
        .agent_builder(MemoryKeyStore::new())
        .expert_fingerprint(original.grouped())
        .build()
        .unwrap();
    assert!(matches!(
        configured.ask_with("Fourth", quick()).await.unwrap_err(),
        Error::ExpertKeyChanged { .. }
    ));
    let trusting = server
        .agent_builder(MemoryKeyStore::new())
        .expert_fingerprint(new.to_string())
        .build()
        .unwrap();
    assert!(
        trusting
            .submit("Fifth", &AskOptions::new())
            .await
            .unwrap()
            .is_sealed()
    );
}

#[tokio::test]
async fn a_device_key_signs_every_request() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let device = SigningKeyPair::generate();
    let signed = server
        .agent_builder(MemoryKeyStore::new())
        .device_key(device)
        .build()
        .unwrap();
    let enrolled = signed.enroll_device().await.unwrap();
    assert_eq!(enrolled.device_id.len(), 64);

    // From now on unsigned requests with this key are refused …
    let unsigned = server.agent(MemoryKeyStore::new());
    let error = unsigned.ask_with("Unsigned?", quick()).await.unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    assert_eq!(error.code(), Some("SIGNATURE_REQUIRED"));
    assert!(!error.is_retryable());

    // … and the signed client does the whole loop, including the event stream.
    let asking = tokio::spawn({
        let signed = signed.clone();
        async move { signed.ask_with("Signed?", quick()).await }
    });
    let id = server.wait_for_pending(&expert).await;
    expert.reply(&id, "Verified").await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap().text, "Verified");
}

#[tokio::test]
async fn tampered_answers_fail_authentication() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let conversation = agent
        .submit("Is this safe?", &AskOptions::new())
        .await
        .unwrap();
    // Someone holding the expert key but not the expert's private key writes "an answer".
    let forger = server.expert(MemoryKeyStore::new());
    let forged = heysummon_sdk::envelope::Channel::new(
        &forger.identity().unwrap(),
        &agent_public_keys(&server, conversation.request_id()).await,
    )
    .unwrap()
    .seal("Yes, totally safe", None)
    .unwrap();
    server
        .post_expert_encrypted(conversation.request_id(), &forged)
        .await;
    let error = conversation.answer(quick().wait).await.unwrap_err();
    assert!(matches!(error, Error::Crypto), "{error}");
    assert_eq!(error.to_string(), "message could not be authenticated");
}

async fn agent_public_keys(server: &Server, id: &RequestId) -> heysummon_sdk::keys::PublicKeys {
    let messages = server.messages_as_expert(id).await;
    heysummon_sdk::keys::PublicKeys::parse(
        messages["consumerSignPubKey"].as_str().unwrap(),
        messages["consumerEncryptPubKey"].as_str().unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_question_ended_without_an_answer_is_request_ended() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let asking = tokio::spawn({
        let agent = agent.clone();
        async move { agent.ask_with("Anyone there?", quick()).await }
    });
    let id = server.wait_for_pending(&expert).await;
    expert.close(&id).await.unwrap();
    let error = asking.await.unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            Error::RequestEnded {
                status: Status::Closed
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn sealed_content_is_checked_here_before_it_is_sealed() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let agent = server.agent(MemoryKeyStore::new());
    let error = agent
        .ask_with("Charge card 4111 1111 1111 1111 please", quick())
        .await
        .unwrap_err();
    match &error {
        Error::ContentBlocked { flags } => assert_eq!(flags, &[FlagType::CreditCard]),
        other => panic!("expected ContentBlocked, got {other}"),
    }
    assert!(!error.to_string().contains("4111"));
    let context = AskOptions::new().with_context(vec![serde_json::json!({
        "role": "user", "content": "my SSN is 123-45-6789"
    })]);
    assert!(matches!(
        agent.submit("Is this fine?", &context).await.unwrap_err(),
        Error::ContentBlocked { .. }
    ));
    assert_eq!(server.request_count().await, 0);
}

#[tokio::test]
async fn no_silent_downgrade_to_plaintext() {
    let server = Server::start().await;
    // The expert has published no keys.
    let _expert = server.expert(MemoryKeyStore::new());
    // A fingerprint in configuration makes sealing mandatory: a keyless expert is refused.
    let configured = server
        .agent_builder(MemoryKeyStore::new())
        .expert_fingerprint(
            heysummon_sdk::keys::PartyKeys::generate()
                .public()
                .fingerprint()
                .to_string(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        configured.ask_with("Secret?", quick()).await.unwrap_err(),
        Error::ExpertKeyChanged {
            published: None,
            ..
        }
    ));
    // So does a key store that has sealed to an expert before (here: another expert id, as a
    // server listing a new keyless expert would make it look).
    let store = MemoryKeyStore::new();
    heysummon_sdk::keystore::KeyStore::pin_fingerprint(
        &store,
        &heysummon_sdk::wire::ExpertId::new("someone-else"),
        &heysummon_sdk::keys::PartyKeys::generate()
            .public()
            .fingerprint(),
    )
    .unwrap();
    let pinned = server.agent(store);
    assert!(matches!(
        pinned.ask_with("Secret?", quick()).await.unwrap_err(),
        Error::EncryptionUnavailable(_)
    ));
    assert_eq!(server.request_count().await, 0);
    // A fresh agent with the default policy uses the v1 flow.
    let fresh = server.agent(MemoryKeyStore::new());
    assert!(
        !fresh
            .submit("Not secret", &AskOptions::new())
            .await
            .unwrap()
            .is_sealed()
    );
}

#[tokio::test]
async fn a_key_bound_to_a_device_token_sends_it() {
    let server = Server::start().await;
    let expert = server.expert(MemoryKeyStore::new());
    expert.publish_keys().await.unwrap();
    let experts = server.agent(MemoryKeyStore::new()).experts().await.unwrap();
    let bound = heysummon_server::provision::add_client(
        &server.app.store,
        &heysummon_server::clock::Clock::system(),
        experts[0].id.as_str(),
        heysummon_server::provision::ClientOptions {
            device_token: Some("tok-123".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = |token: Option<&str>| {
        let mut builder = heysummon_sdk::Client::builder()
            .base_url(&server.base)
            .api_key(bound.client_key.clone());
        if let Some(token) = token {
            builder = builder.device_token(token);
        }
        builder.build().unwrap()
    };
    let error = client(None)
        .ask_with("No token?", quick())
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(403));
    let error = client(Some("wrong"))
        .ask_with("Wrong token?", quick())
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(403));
    let with_token = client(Some("tok-123"));
    let asking = tokio::spawn({
        let with_token = with_token.clone();
        async move { with_token.ask_with("With the token?", quick()).await }
    });
    let id = server.wait_for_pending(&expert).await;
    expert.reply(&id, "Accepted").await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap().text, "Accepted");
    assert!(!format!("{with_token:?}").contains("tok-123"));
}

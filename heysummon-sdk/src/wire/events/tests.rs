//! Golden and round-trip tests of the polling feed and the stream payloads.

use serde_json::json;

use crate::wire::*;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

#[test]
fn golden_expert_feed() {
    let json = r#"{"events":[
        {"type":"new_request","requestId":"cm1","refCode":"HS-7K2QX9LB","question":"Deploy?",
         "requiresApproval":true,"approvalDecision":null,"messageCount":0,"messagePreview":null,
         "consumerSignPubKey":"302a","consumerEncryptPubKey":"302b","escalated":false,
         "createdAt":"2026-04-25T19:56:45.123Z","expiresAt":"2026-04-28T19:56:45.123Z"},
        {"type":"new_notification","requestId":"cm2","refCode":"HS-AAAAAAAA","question":"FYI",
         "messageCount":0,"createdAt":"2026-04-25T19:56:45.123Z","expiresAt":"2026-05-02T19:56:45.123Z"}
    ]}"#;
    let feed: PendingEventsResponse = serde_json::from_str(json).unwrap();
    let PendingEvent::NewRequest(first) = &feed.events[0] else {
        panic!("expected new_request");
    };
    assert!(first.requires_approval);
    assert_eq!(first.approval_decision, None);
    assert_eq!(first.consumer_sign_pub_key.as_deref(), Some("302a"));
    assert_eq!(first.expires_at, ts("2026-04-28T19:56:45.123Z"));
    let PendingEvent::NewNotification(second) = &feed.events[1] else {
        panic!("expected new_notification");
    };
    assert!(!second.requires_approval && !second.escalated);
    assert_eq!(feed.events[1].request_id(), Some(RequestId::new("cm2")));
    let again: PendingEventsResponse =
        serde_json::from_value(serde_json::to_value(&feed).unwrap()).unwrap();
    assert_eq!(again, feed);
}

#[test]
fn golden_consumer_feed() {
    let json = r#"{"events":[
        {"type":"new_message","requestId":"cm1","refCode":"HS-7K2QX9LB","from":"expert","messageCount":3,"respondedAt":"2026-04-25T20:00:00.000Z","latestMessageAt":null},
        {"type":"cancelled","requestId":"cm3","refCode":"HS-BBBBBBBB","cancelledAt":"2026-04-25T20:00:00.000Z"},
        {"type":"notification_acknowledged","requestId":"cm4","refCode":"HS-CCCCCCCC","acknowledgedAt":"2026-04-25T20:00:00.000Z"},
        {"type":"notification_expired","requestId":"cm5","refCode":"HS-DDDDDDDD","expiredAt":"2026-05-02T19:56:45.123Z"}
    ],"quietHours":null}"#;
    let feed: PendingEventsResponse = serde_json::from_str(json).unwrap();
    let types: Vec<_> = feed.events.iter().map(PendingEvent::event_type).collect();
    assert_eq!(
        types,
        [
            "new_message",
            "cancelled",
            "notification_acknowledged",
            "notification_expired"
        ]
    );
    let PendingEvent::NewMessage(message) = &feed.events[0] else {
        panic!("expected new_message");
    };
    assert_eq!(message.from, Sender::Expert);
    assert_eq!(message.message_count, 3);
    assert_eq!(message.latest_message_at, None);
    let written = serde_json::to_value(&feed.events[1]).unwrap();
    assert_eq!(
        written,
        json!({"type":"cancelled","requestId":"cm3","refCode":"HS-BBBBBBBB","cancelledAt":"2026-04-25T20:00:00.000Z"})
    );
}

#[test]
fn unknown_types_are_kept() {
    let json = json!({"type":"keys_rotated","requestId":"cm9","extra":{"n":1}});
    let event: PendingEvent = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(event.event_type(), "keys_rotated");
    assert_eq!(event.request_id(), Some(RequestId::new("cm9")));
    assert!(matches!(&event, PendingEvent::Unknown(unknown) if unknown.members["extra"]["n"] == 1));
    assert_eq!(serde_json::to_value(&event).unwrap(), json);
}

#[test]
fn malformed_events_are_errors() {
    assert!(serde_json::from_str::<PendingEvent>(r#"{"requestId":"cm1"}"#).is_err());
    assert!(serde_json::from_str::<PendingEvent>(r#"{"type":3}"#).is_err());
    assert!(serde_json::from_str::<PendingEvent>(r#"{"type":"new_message"}"#).is_err());
}

#[test]
fn golden_ack() {
    let json = r#"{"ok":true,"deliveredAt":"2026-04-25T20:00:00.000Z"}"#;
    let ack: EventAckResponse = serde_json::from_str(json).unwrap();
    assert!(ack.ok);
    assert_eq!(serde_json::to_string(&ack).unwrap(), json);
}

#[test]
fn event_types_round_trip() {
    for text in [
        "new_request",
        "new_notification",
        "new_message",
        "keys_exchanged",
        "responded",
        "status_change",
        "closed",
        "cancelled",
        "expired",
        "notification_acknowledged",
        "something_new",
    ] {
        let parsed: EventType = serde_json::from_value(json!(text)).unwrap();
        assert_eq!(parsed.as_str(), text);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(text));
    }
    assert_eq!(EventType::from_wire("x"), EventType::Unknown("x".into()));
}

#[test]
fn stream_event_shape_and_frame() {
    let event = StreamEvent::new(
        EventType::NewMessage,
        RequestId::new("cm1"),
        ts("2026-04-25T20:00:00.000Z"),
    )
    .with_ref_code(RefCode::parse("HS-7K2QX9LB").unwrap())
    .with_status(Status::Responded)
    .with_message(Sender::Expert, MessageId::new("m1"));
    let data = r#"{"type":"new_message","requestId":"cm1","refCode":"HS-7K2QX9LB","status":"responded","from":"expert","messageId":"m1","createdAt":"2026-04-25T20:00:00.000Z"}"#;
    assert_eq!(serde_json::to_string(&event).unwrap(), data);
    assert_eq!(
        event.to_sse_frame(42).unwrap(),
        format!("id: 42\nevent: new_message\ndata: {data}\n\n")
    );
    let parsed: StreamEvent = serde_json::from_str(data).unwrap();
    assert_eq!(parsed, event);
    let sparse: StreamEvent = serde_json::from_str(
        r#"{"type":"future","requestId":"cm1","refCode":null,"expertId":null,"createdAt":"2026-04-25T20:00:00.000Z","more":1}"#,
    )
    .unwrap();
    assert_eq!(sparse.event_type, EventType::Unknown("future".into()));
    assert_eq!(sparse.ref_code, None);
    let odd = StreamEvent::new(
        EventType::Unknown("a\nb".into()),
        RequestId::new("cm1"),
        ts("2026-04-25T20:00:00.000Z"),
    );
    assert!(!odd.to_sse_frame(1).unwrap().contains("event:"));
}

#[test]
fn topics() {
    assert_eq!(
        request_topic(&RequestId::new("cm1")),
        "/heysummon/requests/cm1"
    );
    assert_eq!(
        expert_topic(&ExpertId::new("ex1")),
        "/heysummon/experts/ex1"
    );
}

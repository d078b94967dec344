//! Reports and their limits; help requests and consumer messages, field paths included.

use super::*;

// --- reports --------------------------------------------------------------------------------

#[test]
fn report_serialises_to_the_wire_shape() {
    let report = scan_text("question", "4111111111111111");
    assert_eq!(
        serde_json::to_string(&report).unwrap(),
        r#"{"flags":[{"type":"credit_card","field":"question"}]}"#
    );
    let back: ScanReport =
        serde_json::from_str(r#"{"flags":[{"type":"credit_card","field":"question"}]}"#).unwrap();
    assert_eq!(back, report);
    assert_eq!(
        serde_json::to_string(&ScanReport::new()).unwrap(),
        r#"{"flags":[]}"#
    );
}

#[test]
fn report_predicates() {
    let clean = ScanReport::new();
    assert!(clean.is_clean() && !clean.blocked());

    let flagged = scan_text("t", "mail test@example.com");
    assert!(!flagged.is_clean() && !flagged.blocked());

    let blocked = scan_text("t", "123-45-6789");
    assert!(!blocked.is_clean() && blocked.blocked());
}

#[test]
fn merge_and_push_deduplicate() {
    let mut report = scan_text("question", "test@example.com");
    report.merge(scan_text(
        "question",
        "other@example.com and 4111111111111111",
    ));
    report.merge(scan_text("plaintext", "third@example.com"));
    assert_eq!(
        report.flags,
        [
            Flag::new(Email, "question"),
            Flag::new(CreditCard, "question"),
            Flag::new(Email, "plaintext"),
        ]
    );
    assert!(!report.push(Flag::new(Email, "question")));
    assert!(report.push(Flag::new(Email, "messages[0]")));
}

#[test]
fn reports_are_capped_but_keep_every_type() {
    let mut messages: Vec<Value> = (0..500)
        .map(|i| json!(format!("user{i}@example.com")))
        .collect();
    messages.push(json!({"content": "4111 1111 1111 1111"}));
    let report = scan_help_request(None, Some(&messages));
    assert_eq!(report.flags.len(), MAX_FLAGS + 1);
    assert!(report.blocked());
    assert_eq!(
        report.flags.last(),
        Some(&Flag::new(CreditCard, "messages[500].content"))
    );
}

// --- help requests and messages -------------------------------------------------------------

#[test]
fn a_card_in_a_message_blocks_a_clean_question() {
    let messages = [
        json!({"role": "user", "content": "hello"}),
        json!({"role": "assistant", "content": "my card is 4111 1111 1111 1111"}),
    ];
    let report = scan_help_request(Some("What is 2+2?"), Some(&messages));
    assert!(report.blocked());
    assert_eq!(report.flags, [Flag::new(CreditCard, "messages[1].content")]);
}

#[test]
fn every_field_is_scanned_not_only_the_first() {
    let messages = [json!({"content": "123-45-6789"})];
    let report = scan_help_request(Some("mail test@example.com"), Some(&messages));
    assert_eq!(
        report.flags,
        [
            Flag::new(Email, "question"),
            Flag::new(SsnBsn, "messages[0].content")
        ]
    );
}

#[test]
fn nested_strings_are_scanned_with_their_paths() {
    let messages = [
        json!({
            "role": "user",
            "content": "hi",
            "meta": {"depth": {"deeper": [["example.com"]]}, "notes": ["fine", "123-45-6789"]},
        }),
        json!("mail a@example.com"),
        json!(42),
        json!(null),
        json!(true),
        json!([1.5, {"x": "<b>x</b>"}]),
    ];
    let report = scan_help_request(None, Some(&messages));
    assert_eq!(
        report.flags,
        [
            Flag::new(Url, "messages[0].meta.depth.deeper[0][0]"),
            Flag::new(SsnBsn, "messages[0].meta.notes[1]"),
            Flag::new(Email, "messages[1]"),
            Flag::new(Xss, "messages[5][1].x"),
        ]
    );
}

#[test]
fn non_string_values_are_ignored() {
    let messages = [
        json!(4111111111111111_u64),
        json!(null),
        json!(false),
        json!(2.5),
        json!({"n": 123456782, "list": [null, 1, true]}),
        json!([]),
        json!({}),
    ];
    assert!(scan_help_request(Some(""), Some(&messages)).is_clean());
    assert!(scan_help_request(None, None).is_clean());
    assert!(scan_help_request(None, Some(&[])).is_clean());
}

#[test]
fn keys_are_scanned_but_never_echoed() {
    // Written in sorted order, so that positions do not depend on serde_json's
    // `preserve_order` feature.
    let messages = [json!({
        "": "test@example.com",
        "4111 1111 1111 1111": "x",
        "plain_key-2": {"a.b@example.com": 1},
    })];
    let report = scan_help_request(None, Some(&messages));
    assert!(report.blocked());
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("4111"), "{json}");
    assert!(!json.contains("example"), "{json}");
    assert_eq!(
        report.flags,
        [
            Flag::new(Email, "messages[0].{0}"),
            Flag::new(CreditCard, "messages[0].{1}"),
            Flag::new(Email, "messages[0].plain_key-2.{0}"),
        ]
    );
    assert!(is_plain_key("content") && is_plain_key("_x") && is_plain_key("line_1234"));
    assert!(!is_plain_key("") && !is_plain_key("1abc") && !is_plain_key("a b"));
    assert!(!is_plain_key("x4111111111111111") && !is_plain_key(&"k".repeat(65)));
}

#[test]
fn flags_never_contain_the_matched_text() {
    let messages = [
        json!({"content": "4111111111111111", "other": ["123-45-6789", "111222333"]}),
        json!("test@example.com +31612345678 https://evil.example/x <script>alert(1)</script>"),
    ];
    let report = scan_help_request(Some("4111 1111 1111 1111"), Some(&messages));
    assert!(report.blocked());
    let json = serde_json::to_string(&report).unwrap();
    for secret in [
        "4111",
        "1111",
        "123-45",
        "6789",
        "111222333",
        "test@",
        "example",
        "3161234",
        "script",
    ] {
        assert!(!json.contains(secret), "{secret} leaked into {json}");
    }
}

#[test]
fn plaintext_messages_use_their_field() {
    let report = scan_plaintext_message("my BSN is 111222333");
    assert_eq!(report.flags, [Flag::new(SsnBsn, "plaintext")]);
    assert!(scan_plaintext_message("thanks!").is_clean());
}

#[test]
fn deep_nesting_does_not_recurse() {
    let mut value = json!("123-45-6789");
    for _ in 0..20_000 {
        value = Value::Array(vec![value]);
    }
    let messages = [value];
    let report = scan_help_request(None, Some(&messages));
    assert!(report.blocked());
    assert!(report.flags[0].field.ends_with("[0][0][0]"));
    // Dropping a value this deep recurses in serde_json itself; not this module's concern.
    std::mem::forget(messages);
}

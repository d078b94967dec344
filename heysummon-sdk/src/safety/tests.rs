use std::time::{Duration, Instant};

use proptest::prelude::*;
use regex::Regex;
use serde_json::{Value, json};

use super::numbers::{DECIMAL_ZEROS, bsn_valid, digit_value, luhn_valid};
use super::phone::PHONE;
use super::scan::is_plain_key;
use super::web::{EMAIL, MARKUP_DANGEROUS, MARKUP_TAG, URL_DOMAIN, URL_SCHEME, URL_WWW};
use super::*;
use FlagType::{CreditCard, Email, Phone, SsnBsn, Url, Xss};

/// The flag types found in `text`, in report order.
fn kinds(text: &str) -> Vec<FlagType> {
    scan_text("t", text).flags.iter().map(|f| f.kind).collect()
}

#[track_caller]
fn assert_kinds(text: &str, expected: &[FlagType]) {
    assert_eq!(kinds(text), expected, "{text:?}");
}

#[track_caller]
fn assert_blocked_as(text: &str, kind: FlagType) {
    let report = scan_text("t", text);
    assert!(report.blocked(), "{text:?} should be blocked");
    assert!(
        report.contains(kind),
        "{text:?} should be {kind}: {report:?}"
    );
}

#[track_caller]
fn assert_not_blocked(text: &str) {
    let report = scan_text("t", text);
    assert!(
        !report.blocked(),
        "{text:?} should not be blocked: {report:?}"
    );
}

// --- building blocks ------------------------------------------------------------------------

#[test]
fn every_pattern_builds() {
    for (name, pattern) in [
        ("MARKUP_TAG", &MARKUP_TAG),
        ("MARKUP_DANGEROUS", &MARKUP_DANGEROUS),
        ("URL_SCHEME", &URL_SCHEME),
        ("URL_WWW", &URL_WWW),
        ("URL_DOMAIN", &URL_DOMAIN),
        ("EMAIL", &EMAIL),
        ("PHONE", &PHONE),
    ] {
        assert!(pattern.is_some(), "{name} does not build");
    }
}

#[test]
fn digit_values_agree_with_unicode_nd() {
    // `\d` of the regex crate is Unicode Nd, from the same Unicode version as the table.
    let nd = Regex::new(r"^\d$").unwrap();
    let mut buf = [0; 4];
    let mut digits = 0;
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        let is_nd = nd.is_match(c.encode_utf8(&mut buf));
        assert_eq!(digit_value(c).is_some(), is_nd, "U+{:04X}", u32::from(c));
        digits += usize::from(is_nd);
    }
    assert_eq!(digits, DECIMAL_ZEROS.len() * 10);
    for zero in DECIMAL_ZEROS {
        for value in 0..10 {
            let c = char::from_u32(zero + u32::from(value)).unwrap();
            assert_eq!(digit_value(c), Some(value));
        }
    }
}

#[test]
fn luhn_and_bsn_checks() {
    let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
    for valid in [
        "4111111111111111",
        "4222222222222",
        "378282246310005",
        "79927398713",
    ] {
        assert!(luhn_valid(digits(valid).into_iter()), "{valid}");
    }
    for invalid in ["4111111111111112", "1234567890123", "79927398710"] {
        assert!(!luhn_valid(digits(invalid).into_iter()), "{invalid}");
    }
    assert!(bsn_valid(&digits("111222333")));
    assert!(bsn_valid(&digits("123456782")));
    assert!(!bsn_valid(&digits("111222334")));
    assert!(!bsn_valid(&digits("000000000")), "a zero sum is not valid");
    assert!(!bsn_valid(&digits("11122233")), "eight digits");
}

#[test]
fn flag_type_names_and_blocking() {
    for kind in FlagType::ALL {
        let wire = serde_json::to_string(&kind).unwrap();
        assert_eq!(wire, format!("\"{}\"", kind.as_str()));
        assert_eq!(kind.to_string(), kind.as_str());
        assert_eq!(serde_json::from_str::<FlagType>(&wire).unwrap(), kind);
        assert_eq!(kind.blocks(), matches!(kind, CreditCard | SsnBsn));
    }
    let names: Vec<_> = FlagType::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        ["xss", "url", "credit_card", "phone", "email", "ssn_bsn"]
    );
    assert_eq!(BLOCKED_ERROR, "Content blocked by safety filter");
}

// --- payment cards --------------------------------------------------------------------------

#[test]
fn card_numbers_are_blocked() {
    for text in [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "my card is 4111111111111111.",
        "card:(4111-1111-1111-1111)",
        "4111 1111 1111 1111 exp 12/25 cvv 123",
        "4111 1111 1111 1111 12/25",
        "4222222222222",           // 13 digits
        "4111111111111111110",     // 19 digits
        "4111 1111 1111 1111 110", // 19 digits, printed 4-4-4-4-3
        "378282246310005",         // Amex
        "3782 822463 10005",       // Amex, printed 4-6-5
        "3056 930902 5904",        // Diners, printed 4-6-4
        "numbers 12 4111 1111 1111 1111",
        "4111\u{a0}1111\u{a0}1111\u{a0}1111", // no-break spaces
        "4111\u{2013}1111\u{2013}1111\u{2013}1111", // en dashes
        "\u{ff14}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}", // fullwidth
        "\u{664}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}", // Arabic-Indic
        "ref 2024-4111111111111111",
    ] {
        assert_blocked_as(text, CreditCard);
    }
    assert_kinds("4111111111111111", &[CreditCard]);
    assert_kinds("4111 1111 1111 1111", &[CreditCard]);
    assert_kinds("4111-1111-1111-1111", &[CreditCard]);
}

#[test]
fn luhn_failures_are_not_cards() {
    for text in [
        "4111111111111112",
        "4111 1111 1111 1112",
        "4111-1111-1111-1112",
        "4222222222223",
        "4111111111111111111",
    ] {
        assert_not_blocked(text);
        assert!(!kinds(text).contains(&CreditCard), "{text}");
    }
    assert_kinds("4111111111111112", &[]);
    assert_kinds("4111 1111 1111 1112", &[]);
    assert_kinds("4111-1111-1111-1112", &[]);
}

#[test]
fn a_card_inside_a_longer_run_is_judged_as_the_run() {
    for text in [
        "41111111111111111111", // 20 digits
        "94111111111111111",    // 17 digits, Luhn fails as a whole
        "id4111111111111111",   // glued to letters
        "4111111111111111abc",
        "4111111111111111_x",
        "x_4111111111111111",
        "e3b0c4411111111111111110ab", // inside a hex hash
    ] {
        assert_not_blocked(text);
    }
}

#[test]
fn number_lists_and_dates_are_not_cards() {
    for text in [
        "2024-01-15 2024-02-20 2024-03-25",
        "100 200 300 400 500 600 700",
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
        "deadline 2024-01-15 14:30",
        "4111  1111  1111  1111", // groups joined by more than one space are separate numbers
    ] {
        assert_not_blocked(text);
    }
}

// --- SSN and BSN ----------------------------------------------------------------------------

#[test]
fn social_security_numbers_are_blocked() {
    for text in [
        "123-45-6789",
        "SSN: 123-45-6789.",
        "(123-45-6789)",
        "123\u{2011}45\u{2011}6789",
        "123-45-6789 and more",
    ] {
        assert_blocked_as(text, SsnBsn);
    }
    assert_kinds("123-45-6789", &[SsnBsn]);
    for text in [
        "1123-45-6789",
        "123-45-67890",
        "123-456-7890",
        "x123-45-6789",
        "123 45 6789",
    ] {
        assert!(!kinds(text).contains(&SsnBsn), "{text}");
    }
}

#[test]
fn dutch_bsn_numbers_are_blocked() {
    assert_kinds("111222333", &[SsnBsn]);
    assert_blocked_as("mijn BSN is 123456782.", SsnBsn);
    assert_kinds("111222334", &[]);
    assert_kinds("000000000", &[]);
    for text in [
        "1111222333",
        "1112223331",
        "x111222333",
        "111222333y",
        "11122233",
    ] {
        assert!(!kinds(text).contains(&SsnBsn), "{text}");
        assert_not_blocked(text);
    }
}

// --- flag-only rules ------------------------------------------------------------------------

#[test]
fn email_addresses_are_flagged_not_blocked() {
    assert_kinds("test@example.com", &[Email]);
    assert_kinds(
        "write to first.last+tag@mail.example.co.uk please",
        &[Email],
    );
    assert_kinds("@mention and user@localhost", &[]);
}

#[test]
fn phone_numbers_are_flagged_not_blocked() {
    for text in [
        "+31612345678",
        "555-123-4567",
        "call (555) 123-4567 now",
        "+44 (0)20 7946 0958",
        "+1 555 123 4567",
        "555.123.4567",
        "+31 6 1234 5678",
        "bel 0612345678?",
        "1-800-555-1234",
        "call 555-123-4567 at 12:30",
        "+31 6 1234 5678 12:30",
    ] {
        assert_kinds(text, &[Phone]);
    }
}

#[test]
fn numbers_that_are_not_phone_numbers() {
    for text in [
        "deadline 2024-01-15 12:30",
        "2024-01-15 10 am",
        "host 192.168.100.200",
        "pi is 3.14159265358979",
        "at 1700000000000 ms",
        "order 12345678901234",
        "1 2 3 4 5 6 7 8 9 10",
        "1,234,567,890,123",
        "abc5551234567",
        "https://x.example/5551234567",
    ] {
        assert!(!kinds(text).contains(&Phone), "{text}");
    }
}

#[test]
fn blocked_digits_are_not_also_phone_numbers() {
    // 4-4-4-1 is also the shape of a phone number.
    assert_kinds("4222 2222 2222 2", &[CreditCard]);
    assert_kinds("+1 111222333", &[SsnBsn]);
    assert_kinds(
        "4222 2222 2222 2 or call 555-123-4567",
        &[CreditCard, Phone],
    );
}

#[test]
fn urls_are_flagged() {
    for text in [
        "https://evil.example/x",
        "http://localhost:3000",
        "ftp://files.example",
        "HTTPS://EXAMPLE.ORG",
        "example.com",
        "visit example.com/path today",
        "see www.example.test",
        "docs at example.zzz/path",
        "api.example.dev:8443",
        "Go to example.com.",
    ] {
        assert_kinds(text, &[Url]);
    }
}

#[test]
fn things_that_are_not_urls() {
    for text in [
        "e.g. this",
        "i.e. that",
        "version 1.2.3",
        "v1.2.3-beta.4",
        "edit src/main.rs and README.md",
        "open Safari.app",
        "Node.js and Vue.js",
        "the end.Next sentence",
        "Wait...what",
        "U.S.A.",
        "http:// nothing",
    ] {
        assert!(!kinds(text).contains(&Url), "{text}");
    }
    // An e-mail address is an e-mail address, not also a URL.
    assert_kinds("test@example.com", &[Email]);
}

#[test]
fn markup_is_flagged() {
    for text in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "some <b>bold</b> text",
        "</div>",
        "line<br/>break",
        "<!-- hidden -->",
        "<svg onload=alert(1)",
        "<SCRIPT SRC=//evil.example/x.js>",
        "x<script>alert(1)</script>",
        "<a href='javascript:alert(1)'>click</a>",
        "<!DOCTYPE html>",
    ] {
        assert!(kinds(text).contains(&Xss), "{text}");
    }
    assert_kinds("<script>alert(1)</script>", &[Xss]);
    assert_kinds("<img src=x onerror=alert(1)>", &[Xss]);
}

#[test]
fn comparisons_and_generics_are_not_markup() {
    for text in [
        "a < b and c > d",
        "x <= y >= z",
        "1 << 4",
        "I <3 this",
        "Vec<T>",
        "Option<String>",
        "Array<Object> and Vec<Frame>",
        "a<b",
    ] {
        assert!(!kinds(text).contains(&Xss), "{text}");
    }
}

#[test]
fn ordinary_text_is_clean() {
    for text in [
        "What is 2+2?",
        "May I drop the staging database?",
        "version 1.2.3",
        "e.g. this",
        "",
        "Meeting at 10:30, room 4.12, 3 people.",
        "Prijs: € 1.234,56",
        "日本語のテキスト、数字は１２３。",
    ] {
        assert_kinds(text, &[]);
    }
}

#[test]
fn one_flag_per_type_and_field() {
    let text = "a@example.com b@example.com c@example.com 555-123-4567 555-987-6543 \
                4111111111111111 4012888888881881 123-45-6789 <b>x</b> <i>y</i>";
    let report = scan_text("question", text);
    assert_eq!(
        report.flags.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [Xss, CreditCard, Phone, Email, SsnBsn]
    );
    assert!(report.flags.iter().all(|f| f.field == "question"));
}

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

// --- size and speed -------------------------------------------------------------------------

#[test]
fn a_mebibyte_scans_without_issue() {
    const MIB: usize = 1 << 20;
    let fill = |unit: &str| unit.repeat(MIB / unit.len());
    let inputs = [
        fill("lorem ipsum dolor sit amet "),
        fill("1 "),
        fill("1-"),
        fill("1234 "),
        fill("9"),
        fill("<a "),
        fill("<b>"),
        fill("a."),
        fill("a@"),
        fill("a.b@"),
        fill("+1 (2"),
        fill("555-123-4567 "),
        fill("test@example.com "),
        fill("4111111111111111 "),
        fill("\u{ff11}"),
        fill("日本"),
    ];
    let start = Instant::now();
    for text in &inputs {
        let report = scan_text("question", text);
        assert!(report.flags.len() <= FlagType::ALL.len());
    }
    let mut tail = fill("lorem ipsum dolor sit amet ");
    tail.push_str(" 4111 1111 1111 1111");
    assert!(scan_text("question", &tail).blocked());
    // Generous even for an unoptimised build; quadratic behaviour would take minutes.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

// --- properties -----------------------------------------------------------------------------

/// Completes 15 digits to a Luhn-valid 16-digit number.
fn with_check_digit(mut digits: Vec<u8>) -> Vec<u8> {
    let check = (0..10)
        .find(|d| {
            let mut all = digits.clone();
            all.push(*d);
            luhn_valid(all.into_iter())
        })
        .unwrap();
    digits.push(check);
    digits
}

proptest! {
    #[test]
    fn any_text_scans(text in any::<String>()) {
        let report = scan_text("t", &text);
        prop_assert!(report.flags.len() <= FlagType::ALL.len());
    }

    #[test]
    fn any_mix_of_tricky_characters_scans(text in "[0-9 \\-.:+()<>/@a-z\u{ff10}-\u{ff19}\u{a0}]{0,200}") {
        let report = scan_text("t", &text);
        prop_assert!(report.flags.len() <= FlagType::ALL.len());
    }

    #[test]
    fn every_luhn_valid_card_is_blocked(
        body in proptest::collection::vec(0u8..10, 15),
        separator in prop::sample::select(vec!["", " ", "-"]),
    ) {
        let digits = with_check_digit(body);
        let text: String = digits
            .chunks(4)
            .map(|chunk| chunk.iter().map(|d| char::from(b'0' + d)).collect::<String>())
            .collect::<Vec<_>>()
            .join(separator);
        let report = scan_text("t", &format!("pay with {text} please"));
        prop_assert!(report.contains(CreditCard), "{}", text);
        prop_assert!(!report.contains(Phone), "{}", text);
    }
}

//! The flag-only rules: markup, URLs, e-mail addresses and phone numbers.

use super::*;

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

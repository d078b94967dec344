//! Tests of content safety: the shared assertions and the building blocks here; the rules, the
//! reports and the limits in the files beside.

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

mod flag_only;
mod limits;
mod numbers;
mod reports;

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

//! Size, speed and properties that hold for any input.

use super::*;

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

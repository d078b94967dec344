//! The blocking rules: payment cards, SSNs and BSNs.

use super::*;

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
fn invisible_format_characters_do_not_hide_numbers() {
    for text in [
        "4111\u{200b}1111\u{200b}1111\u{200b}1111", // zero-width spaces between groups
        "4111 \u{200b}1111 1111 1111",              // beside a real space
        "4\u{2060}1\u{2060}11111111111111",         // word joiners between digits
        "4111\u{ad}1111\u{ad}1111\u{ad}1111",       // soft hyphens
        "\u{202e}4111111111111111\u{202c}",         // inside a bidirectional override
        "4111\u{feff}1111\u{200d}1111\u{200c}1111", // BOM, joiner, non-joiner
    ] {
        assert_blocked_as(text, CreditCard);
    }
    assert_blocked_as("123\u{200b}-45-\u{200b}6789", SsnBsn);
    // A mark between a word and a number keeps them apart, as it did before marks were removed.
    assert_blocked_as("שלום\u{200e}4111 1111 1111 1111", CreditCard);
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

//! One text: a cheap pass that tells which detectors can match at all, running those, and the
//! character classes the detectors share.

use super::numbers::scan_numbers;
use super::phone::has_phone;
use super::report::{FlagType, Kinds};
use super::web::{EMAIL, has_markup, has_url};

/// What one pass over the bytes tells about which detectors can match at all.
#[derive(Default)]
struct Prefilter {
    ascii_digits: usize,
    non_ascii: bool,
    lt: bool,
    at: bool,
    dot: bool,
    colon: bool,
}

impl Prefilter {
    fn of(text: &str) -> Self {
        let mut seen = Self::default();
        for &byte in text.as_bytes() {
            match byte {
                b'0'..=b'9' => seen.ascii_digits += 1,
                b'<' => seen.lt = true,
                b'@' => seen.at = true,
                b'.' => seen.dot = true,
                b':' => seen.colon = true,
                0x80.. => seen.non_ascii = true,
                _ => {}
            }
        }
        seen
    }
}

/// Every flag type found in `text`. Invisible format characters (zero-width spaces and
/// joiners, soft hyphens, bidirectional controls, …) cannot hide a number or an address: a text
/// that has any is scanned twice, as sent and without them, and what either scan finds counts
/// (removing them could also glue a word to a number that stood apart).
pub(super) fn detect(text: &str) -> Kinds {
    let found = detect_in(text);
    if text.is_ascii() || !text.chars().any(is_format) {
        return found;
    }
    let visible: String = text.chars().filter(|&c| !is_format(c)).collect();
    found.union(detect_in(&visible))
}

/// Every flag type found in `text` as it is.
fn detect_in(text: &str) -> Kinds {
    let mut found = Kinds::default();
    if text.is_empty() {
        return found;
    }
    let seen = Prefilter::of(text);
    let mut blocked_spans = Vec::new();
    // The shortest blocking number (SSN, BSN) has 9 digits; digits of other scripts are not
    // counted by the prefilter, so any non-ASCII text is scanned.
    if seen.ascii_digits >= 9 || seen.non_ascii {
        found = scan_numbers(text, &mut blocked_spans);
    }
    if seen.lt && has_markup(text) {
        found.insert(FlagType::Xss);
    }
    if (seen.dot || seen.colon) && has_url(text) {
        found.insert(FlagType::Url);
    }
    if seen.at && EMAIL.as_ref().is_some_and(|re| re.is_match(text)) {
        found.insert(FlagType::Email);
    }
    if seen.ascii_digits >= 10 && has_phone(text, &mut blocked_spans) {
        found.insert(FlagType::Phone);
    }
    found
}

/// Whether `c` is a Unicode format character (general category Cf): invisible, and so able to
/// split what a reader sees as one number or one word.
pub(crate) fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// A "word" character in the sense of `\w`: a neighbour that glues a number into a longer token.
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The character that ends just before byte `at`.
pub(super) fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|head| head.chars().next_back())
}

/// The characters from byte `at` on.
pub(super) fn chars_after(text: &str, at: usize) -> std::str::Chars<'_> {
    text.get(at..).unwrap_or_default().chars()
}

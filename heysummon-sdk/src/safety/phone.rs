//! The flag-only rule for phone numbers: a regular expression for candidates (built once; should
//! it fail to build it matches nothing, which can only lose a flag), then the checks that tell a
//! phone number from dates, times, addresses, ids and the numbers already found to block.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::detect::{char_before, chars_after, is_word};
use super::numbers::MAX_CARD_DIGITS;

/// A phone number candidate: `+CC`, `(area)`, then digit groups joined by one separator.
pub(super) static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,15}(?:[ .-][0-9]{1,15}){0,6}",
    )
    .ok()
});

pub(super) fn has_phone(text: &str, blocked_spans: &mut [Range<usize>]) -> bool {
    let Some(phone) = PHONE.as_ref() else {
        return false;
    };
    blocked_spans.sort_unstable_by_key(|span| (span.start, span.end));
    let spans = &*blocked_spans;
    phone.find_iter(text).any(|found| {
        let accept = |range: Range<usize>| is_phone(text, range.clone()) && !overlaps(spans, range);
        if accept(found.range()) {
            return true;
        }
        // The pattern also joins numbers that are merely listed with spaces between them
        // (`555-123-4567 555-987-6543`, `555-123-4567 12:30`): try every run of whole
        // space-separated pieces of the match as well, if it is written like a phone number
        // (so that a part of `4111 1111 1111 1112` is not one).
        let mut cuts = [0; 16];
        let mut count = 0;
        for (offset, _) in found.as_str().match_indices(' ') {
            if let Some(cut) = cuts.get_mut(count) {
                *cut = found.start() + offset;
                count += 1;
            }
        }
        let cuts = cuts.get(..count).unwrap_or_default();
        let starts = || std::iter::once(found.start()).chain(cuts.iter().map(|cut| cut + 1));
        let ends = || cuts.iter().copied().chain(std::iter::once(found.end()));
        starts().enumerate().any(|(first, start)| {
            ends().enumerate().skip(first).any(|(last, end)| {
                (first, last) != (0, count)
                    && text
                        .get(start..end)
                        .is_some_and(|part| part.contains(['+', '(', '-', '.']))
                    && accept(start..end)
            })
        })
    })
}

/// Whether the `range` of `text` (a [`PHONE`] match or a part of one) is a phone number.
fn is_phone(text: &str, range: Range<usize>) -> bool {
    let Some(candidate) = text.get(range.clone()) else {
        return false;
    };
    let digits = candidate.bytes().filter(u8::is_ascii_digit).count();
    if !(10..=15).contains(&digits) {
        return false;
    }

    // Neighbours: not inside a word, a URL or a longer number (decimal, time, date, list).
    let before = char_before(text, range.start);
    let before_that = before.and_then(|c| char_before(text, range.start - c.len_utf8()));
    match before {
        Some(c) if is_word(c) || matches!(c, '/' | '=' | '&' | '?' | '#' | '@' | '+') => {
            return false;
        }
        Some('.' | ',' | ':') if before_that.is_some_and(|c| c.is_ascii_digit()) => return false,
        _ => {}
    }
    let mut after = chars_after(text, range.end);
    match (after.next(), after.next()) {
        (Some(c), _) if is_word(c) || c == '@' => return false,
        (Some('.' | ',' | ':' | '/' | '-'), Some(next)) if next.is_ascii_digit() => return false,
        _ => {}
    }

    // Shape.
    let international = candidate.starts_with('+');
    let bytes = candidate.as_bytes();
    if !international && bytes.iter().all(u8::is_ascii_digit) && digits > 11 {
        return false;
    }
    if !international && is_iso_date_prefix(bytes) {
        return false;
    }
    let groups = || {
        candidate
            .split(|c: char| !c.is_ascii_digit())
            .filter(|group| !group.is_empty())
    };
    let national = || groups().skip(usize::from(international));
    if national().filter(|group| group.len() == 1).count() > 1 {
        return false;
    }
    if candidate.contains('.') {
        let mixed = candidate.contains([' ', '-']);
        let long_group = groups().any(|group| group.len() > 4);
        let ipv4 = !international
            && !candidate.contains('(')
            && groups().count() == 4
            && groups().all(|group| group.len() <= 3);
        if mixed || long_group || ipv4 {
            return false;
        }
    }
    true
}

/// `YYYY-MM-DD` at the start.
fn is_iso_date_prefix(bytes: &[u8]) -> bool {
    let shape = b"dddd-dd-dd";
    bytes.len() >= shape.len()
        && bytes.iter().zip(shape).all(|(&b, &s)| match s {
            b'd' => b.is_ascii_digit(),
            _ => b == b'-',
        })
}

/// Whether `range` overlaps any of `spans` (sorted by start).
fn overlaps(spans: &[Range<usize>], range: Range<usize>) -> bool {
    // Spans are short (at most 19 digits and their joiners), so only those starting at most
    // that far before `range` can reach into it.
    const LONGEST_SPAN: usize = MAX_CARD_DIGITS * 4 + (MAX_CARD_DIGITS - 1) * 3;
    let first = spans.partition_point(|span| span.start + LONGEST_SPAN < range.start);
    spans
        .get(first..)
        .unwrap_or_default()
        .iter()
        .take_while(|span| span.start < range.end)
        .any(|span| span.end > range.start)
}

//! The blocking rules: payment card numbers (Luhn), US social security numbers and Dutch BSNs,
//! found in one pass over the digit groups of a text. Hand-written, so that they cannot fail to be
//! built.

use std::ops::Range;

use super::detect::is_word;
use super::report::{FlagType, Kinds};

/// The most digits a card number has.
pub(super) const MAX_CARD_DIGITS: usize = 19;

/// The zero of every run of ten decimal digits (Unicode general category Nd) in the Unicode
/// version of the `regex` crate's `\d`; a test checks the two agree.
pub(super) const DECIMAL_ZEROS: [u32; 76] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The value of a decimal digit of any script.
pub(super) fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let code = u32::from(c);
    if code < 0x0660 {
        return None;
    }
    let zero = DECIMAL_ZEROS
        .partition_point(|&zero| zero <= code)
        .checked_sub(1)
        .and_then(|index| DECIMAL_ZEROS.get(index))?;
    let value = code - zero;
    (value < 10).then_some(value as u8)
}

/// How a character may join two digit groups: `Some(true)` a dash, `Some(false)` a space.
fn joiner(c: char) -> Option<bool> {
    match c {
        '-' | '\u{2010}'..='\u{2013}' | '\u{2212}' => Some(true),
        ' ' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}' => Some(false),
        _ => None,
    }
}

/// A maximal run of digits.
#[derive(Clone, Copy)]
struct Group {
    /// Byte range in the text.
    start: usize,
    end: usize,
    /// How many digits (saturating; only the first [`MAX_CARD_DIGITS`] are kept).
    len: usize,
    digits: [u8; MAX_CARD_DIGITS],
    /// Whether the character before is not a word character.
    open_left: bool,
    /// Whether the character after is not a word character.
    open_right: bool,
    /// Whether a dash (rather than a space) joins it to the previous group of its chain.
    after_dash: bool,
}

impl Group {
    fn digits(&self) -> &[u8] {
        self.digits.get(..self.len).unwrap_or(&self.digits)
    }
}

/// Finds the blocking numbers of `text`; records the byte range of every one in `spans`.
pub(super) fn scan_numbers(text: &str, spans: &mut Vec<Range<usize>>) -> Kinds {
    let mut found = Kinds::default();
    // The tail of the current chain: a candidate spans at most MAX_CARD_DIGITS groups.
    let mut chain: Vec<Group> = Vec::new();
    let mut current: Option<Group> = None;
    // Set right after a group ended on a joiner: whether that joiner was a dash.
    let mut joined: Option<bool> = None;
    let mut previous: Option<char> = None;
    for (index, c) in text.char_indices() {
        if let Some(value) = digit_value(c) {
            if let Some(group) = current.as_mut() {
                if let Some(slot) = group.digits.get_mut(group.len) {
                    *slot = value;
                }
                group.len = group.len.saturating_add(1);
            } else {
                let after_dash = match joined.take() {
                    Some(dash) => dash,
                    None => {
                        chain.clear();
                        false
                    }
                };
                let mut digits = [0; MAX_CARD_DIGITS];
                digits[0] = value;
                current = Some(Group {
                    start: index,
                    end: index,
                    len: 1,
                    digits,
                    open_left: previous.is_none_or(|p| !is_word(p)),
                    open_right: false,
                    after_dash,
                });
            }
        } else if let Some(mut group) = current.take() {
            group.end = index;
            group.open_right = !is_word(c);
            push_group(&mut chain, group, &mut found, spans);
            joined = joiner(c);
        } else {
            joined = None;
        }
        previous = Some(c);
    }
    if let Some(mut group) = current.take() {
        group.end = text.len();
        group.open_right = true;
        push_group(&mut chain, group, &mut found, spans);
    }
    found
}

/// Appends a finished group to its chain and judges every candidate that ends with it.
fn push_group(
    chain: &mut Vec<Group>,
    group: Group,
    found: &mut Kinds,
    spans: &mut Vec<Range<usize>>,
) {
    if chain.len() >= 4 * MAX_CARD_DIGITS {
        chain.drain(..chain.len() - MAX_CARD_DIGITS);
    }
    chain.push(group);
    if !group.open_right {
        return;
    }
    let mut hit = |kind: FlagType, start: usize| {
        found.insert(kind);
        spans.push(start..group.end);
    };

    // BSN: exactly nine digits passing the 11-check.
    if group.len == 9 && group.open_left && bsn_valid(group.digits()) {
        hit(FlagType::SsnBsn, group.start);
    }

    // SSN: NNN-NN-NNNN.
    if let [.., area, serial, last] = chain.as_slice()
        && area.len == 3
        && area.open_left
        && serial.len == 2
        && serial.after_dash
        && last.len == 4
        && last.after_dash
    {
        hit(FlagType::SsnBsn, area.start);
    }

    // Card: 13–19 digits, one group or groups split where cards are printed.
    let mut total = 0;
    for first in (0..chain.len()).rev() {
        let Some(candidate) = chain.get(first..) else {
            break;
        };
        total += candidate.first().map_or(0, |g| g.len);
        if total > MAX_CARD_DIGITS {
            break;
        }
        if total >= 13
            && candidate.first().is_some_and(|g| g.open_left)
            && card_layout(candidate)
            && luhn_valid(candidate.iter().flat_map(Group::digits).copied())
        {
            hit(
                FlagType::CreditCard,
                candidate.first().map_or(0, |g| g.start),
            );
            break;
        }
    }
}

/// Whether groups (13–19 digits in all) are split the way card numbers are printed.
fn card_layout(groups: &[Group]) -> bool {
    let lens = || groups.iter().map(|g| g.len);
    if lens().eq([4, 6, 4]) || lens().eq([4, 6, 5]) {
        return true;
    }
    let mut so_far = 0;
    groups.split_last().is_some_and(|(_, leading)| {
        leading.iter().all(|g| {
            so_far += g.len;
            matches!(so_far, 4 | 8 | 12 | 16)
        })
    })
}

/// The Luhn check over digits given most significant first.
pub(super) fn luhn_valid(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let digit = u32::from(digit);
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Dutch BSN 11-check over nine digits.
pub(super) fn bsn_valid(digits: &[u8]) -> bool {
    const WEIGHTS: [i32; 9] = [9, 8, 7, 6, 5, 4, 3, 2, -1];
    if digits.len() != WEIGHTS.len() {
        return false;
    }
    let sum: i32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| i32::from(digit) * weight)
        .sum();
    sum != 0 && sum % 11 == 0
}

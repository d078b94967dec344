//! Content safety (PROTOCOL A, "Content safety"): the rules that both the server and the guard
//! apply to every plaintext text field before it is accepted, without any I/O.
//!
//! Two kinds of finding:
//!
//! - **blocking** ([`FlagType::blocks`]): a Luhn-valid payment card number
//!   ([`FlagType::CreditCard`]), a US social security number or a Dutch BSN
//!   ([`FlagType::SsnBsn`]). A request with a blocking finding is refused with 422 and the body
//!   `{"error":BLOCKED_ERROR,"flags":[…]}`;
//! - **flag only**: HTML/script markup ([`FlagType::Xss`]), URLs ([`FlagType::Url`]), e-mail
//!   addresses ([`FlagType::Email`]) and phone numbers ([`FlagType::Phone`]). They are recorded
//!   with the request; the text is stored as sent and escaped wherever it is rendered.
//!
//! Unlike HeySummon, which scans only the first non-empty field, every text field is scanned:
//! the question, every string anywhere inside `messages` (object keys included) and consumer
//! plaintext messages.
//!
//! A [`Flag`] names the finding's type and the field it was found in, never the matched text: a
//! flag is echoed to the client and stored, and the match may be the very card number the filter
//! keeps out. A report holds at most one flag per (type, field) pair and at most [`MAX_FLAGS`]
//! flags in all (plus one of each type not yet present), so a huge input cannot produce a huge
//! report.
//!
//! # The rules in detail
//!
//! Digits are decimal digits of any script (`0`–`9`, but also e.g. Arabic-Indic `٤` or fullwidth
//! `４`). A *digit group* is a maximal run of digits; groups joined by exactly one space (also a
//! no-break, figure, thin or narrow no-break space) or one dash (`-`, or a Unicode hyphen, en dash
//! or minus sign) form a *chain*. A candidate is a part of a chain made of whole groups, preceded
//! and followed by a character that is not a letter, digit or `_` (or by the start or end of the
//! text). So a number embedded in a longer digit run is judged as that whole run, and a number
//! glued to letters (`id4111…`, a hex hash) is not judged at all.
//!
//! - payment card: 13–19 digits passing the Luhn check, either one group, or groups split where
//!   cards are printed: after 4, 8, 12 or 16 digits, or as 4-6-4 / 4-6-5 (Diners, Amex);
//! - social security number: groups of 3, 2 and 4 digits joined by dashes (`123-45-6789`);
//! - BSN: one group of exactly 9 digits whose weighted sum (weights 9, 8, 7, 6, 5, 4, 3, 2, −1)
//!   is a non-zero multiple of 11;
//! - markup: a tag (`<b>`, `<img src=x onerror=…>`, `</div>`, `<br/>`), a comment, doctype,
//!   CDATA section or processing instruction, or the start of a dangerous element (`<script`,
//!   `<iframe`, `<svg`, …) even without a closing `>`. A lone `<` (`a < b`) is not markup, nor is
//!   a generic type glued to a word (`Vec<T>`, `Option<String>`);
//! - URL: an `http`, `https`, `ftp`, `ftps` or `sftp` URL, a host starting with `www.`, or a bare
//!   domain (`example.com`, `example.com/path`). A bare domain needs a path or port, or one of a
//!   list of common top-level domains, so file names (`main.rs`, `README.md`, `Safari.app`),
//!   abbreviations (`e.g.`) and versions (`1.2.3`) are not URLs;
//! - e-mail: `local@domain.tld`;
//! - phone: an optional `+` and country code, an optional area code in parentheses, then digit
//!   groups joined by single spaces, dashes or dots, with 10–15 digits in all (10–11 when written
//!   as one bare run of digits, which longer ids and millisecond timestamps would otherwise
//!   match). Dates, times, IPv4 addresses, decimals and digits that were already reported as a
//!   card, SSN or BSN are not phone numbers.
//!
//! ```
//! use heysummon_sdk::safety::{FlagType, scan_help_request, scan_text};
//!
//! let report = scan_text("question", "Is 4111 1111 1111 1111 still my card?");
//! assert!(report.blocked());
//! assert_eq!(report.flags[0].kind, FlagType::CreditCard);
//!
//! let messages = [serde_json::json!({"role": "user", "content": "mail me at a@example.com"})];
//! let report = scan_help_request(Some("What is 2+2?"), Some(&messages));
//! assert!(!report.blocked());
//! assert_eq!(report.flags[0].field, "messages[0].content");
//! ```

use std::fmt;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// The `error` of the 422 body a blocked request is refused with.
pub const BLOCKED_ERROR: &str = "Content blocked by safety filter";

/// How many flags a [`ScanReport`] collects before it only adds flags of types it lacks.
pub const MAX_FLAGS: usize = 64;

/// The kind of a finding, written on the wire as `"xss"`, `"url"`, `"credit_card"`, `"phone"`,
/// `"email"` or `"ssn_bsn"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    /// HTML or script markup.
    Xss,
    /// A URL or bare domain.
    Url,
    /// A Luhn-valid payment card number. Blocks.
    CreditCard,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A US social security number or a Dutch BSN. Blocks.
    SsnBsn,
}

impl FlagType {
    /// Every flag type, in the order a report lists the flags of one field.
    pub const ALL: [FlagType; 6] = [
        Self::Xss,
        Self::Url,
        Self::CreditCard,
        Self::Phone,
        Self::Email,
        Self::SsnBsn,
    ];

    /// Whether a finding of this type refuses the request: true for [`FlagType::CreditCard`]
    /// and [`FlagType::SsnBsn`].
    pub fn blocks(self) -> bool {
        matches!(self, Self::CreditCard | Self::SsnBsn)
    }

    /// The wire name, e.g. `"credit_card"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xss => "xss",
            Self::Url => "url",
            Self::CreditCard => "credit_card",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::SsnBsn => "ssn_bsn",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for FlagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: what was found and where, never the matched text itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// What was found.
    #[serde(rename = "type")]
    pub kind: FlagType,
    /// Where it was found, e.g. `"question"`, `"messages[2].content"`, `"plaintext"`.
    pub field: String,
}

impl Flag {
    /// A flag of `kind` in `field`.
    pub fn new(kind: FlagType, field: impl Into<String>) -> Self {
        Self {
            kind,
            field: field.into(),
        }
    }
}

/// The findings of a scan; serialises as `{"flags":[{"type":…,"field":…},…]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The findings, in the order the fields were scanned; within a field in the order of
    /// [`FlagType::ALL`].
    pub flags: Vec<Flag>,
}

impl ScanReport {
    /// An empty (clean) report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any finding refuses the request ([`FlagType::blocks`]).
    pub fn blocked(&self) -> bool {
        self.flags.iter().any(|flag| flag.kind.blocks())
    }

    /// Whether nothing at all was found.
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }

    /// Whether a finding of `kind` was made in any field.
    pub fn contains(&self, kind: FlagType) -> bool {
        self.flags.iter().any(|flag| flag.kind == kind)
    }

    /// Adds `flag` unless the report already has one of the same type for the same field, or
    /// already holds [`MAX_FLAGS`] flags and one of the same type. Returns whether it was added.
    pub fn push(&mut self, flag: Flag) -> bool {
        let duplicate = if self.flags.len() >= MAX_FLAGS {
            self.contains(flag.kind)
        } else {
            self.flags
                .iter()
                .any(|have| have.kind == flag.kind && have.field == flag.field)
        };
        if !duplicate {
            self.flags.push(flag);
        }
        !duplicate
    }

    /// Adds the flags of `other` after this report's own, by the rules of [`ScanReport::push`].
    pub fn merge(&mut self, other: ScanReport) {
        for flag in other.flags {
            self.push(flag);
        }
    }

    fn add(&mut self, kinds: Kinds, field: &str) {
        for kind in kinds.iter() {
            self.push(Flag::new(kind, field));
        }
    }
}

/// Scans one text field; every flag of the report names `field`.
pub fn scan_text(field: &str, text: &str) -> ScanReport {
    let mut report = ScanReport::new();
    report.add(detect(text), field);
    report
}

/// Scans a help request: `question` (field `"question"`) and every string anywhere inside
/// `messages`, in objects and arrays at any depth and under any key, object keys included.
///
/// Fields are written as paths: `messages[0].content`, `messages[3]` (a string element),
/// `messages[1].meta.notes[0]`. An object key is written as `.key` when it is a plain identifier
/// (ASCII letters, digits, `_` and `-`, not starting with a digit or `-`, at most 64 characters
/// and at most 4 digits); any other key is written as `.{n}`, its position in the object, so
/// that no user text beyond plain names reaches a flag. A finding in a key is reported under the
/// path of that key's entry. Numbers, booleans and `null` are ignored.
pub fn scan_help_request(question: Option<&str>, messages: Option<&[Value]>) -> ScanReport {
    let mut report = ScanReport::new();
    if let Some(question) = question {
        report.add(detect(question), "question");
    }
    if let Some(messages) = messages {
        scan_json(&mut report, "messages", messages);
    }
    report
}

/// Scans the plaintext of a consumer message (`POST /api/v1/message`); field `"plaintext"`.
pub fn scan_plaintext_message(text: &str) -> ScanReport {
    scan_text("plaintext", text)
}

/// One step of a path inside `messages`.
enum Segment<'a> {
    Index(usize),
    Key(&'a str, usize),
}

/// Walks `items` (the array named `root`) depth first, in document order, without recursion so
/// that no nesting depth can exhaust the stack, and with one path buffer for all fields.
fn scan_json(report: &mut ScanReport, root: &str, items: &[Value]) {
    let mut path = String::from(root);
    let mut stack: Vec<(&Value, usize, Segment<'_>)> = items
        .iter()
        .enumerate()
        .rev()
        .map(|(index, value)| (value, root.len(), Segment::Index(index)))
        .collect();
    while let Some((value, parent_len, segment)) = stack.pop() {
        path.truncate(parent_len);
        match segment {
            Segment::Index(index) => {
                let _ = write!(path, "[{index}]");
            }
            Segment::Key(key, position) => {
                if is_plain_key(key) {
                    path.push('.');
                    path.push_str(key);
                } else {
                    let _ = write!(path, ".{{{position}}}");
                }
                report.add(detect(key), &path);
            }
        }
        match value {
            Value::String(text) => report.add(detect(text), &path),
            Value::Array(children) => {
                let len = path.len();
                stack.extend(
                    children
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(index, child)| (child, len, Segment::Index(index))),
                );
            }
            Value::Object(entries) => {
                let len = path.len();
                stack.extend(
                    entries
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(position, (key, child))| {
                            (child, len, Segment::Key(key.as_str(), position))
                        }),
                );
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Whether a JSON key may appear verbatim in a field path.
fn is_plain_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() <= 64
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        && bytes.iter().filter(|b| b.is_ascii_digit()).count() <= 4
}

/// A set of flag types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Kinds(u8);

impl Kinds {
    fn insert(&mut self, kind: FlagType) {
        self.0 |= kind.bit();
    }

    fn contains(self, kind: FlagType) -> bool {
        self.0 & kind.bit() != 0
    }

    fn iter(self) -> impl Iterator<Item = FlagType> {
        FlagType::ALL
            .into_iter()
            .filter(move |kind| self.contains(*kind))
    }
}

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

/// Every flag type found in `text`.
fn detect(text: &str) -> Kinds {
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

// ---------------------------------------------------------------------------------------------
// Blocking rules: hand-written, so that they cannot fail to be built.

/// The most digits a card number has.
const MAX_CARD_DIGITS: usize = 19;

/// The zero of every run of ten decimal digits (Unicode general category Nd) in the Unicode
/// version of the `regex` crate's `\d`; a test checks the two agree.
const DECIMAL_ZEROS: [u32; 76] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The value of a decimal digit of any script.
fn digit_value(c: char) -> Option<u8> {
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

/// A "word" character in the sense of `\w`: a neighbour that glues a number into a longer token.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
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
fn scan_numbers(text: &str, spans: &mut Vec<Range<usize>>) -> Kinds {
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
fn luhn_valid(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
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
fn bsn_valid(digits: &[u8]) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Flag-only rules: regular expressions, built once. Should one fail to build it matches nothing,
// which can only lose a flag, never let a blocked text through (a test builds every one).

/// Any tag: `<b>`, `<img src=x onerror=alert(1)>`, `</div>`, `<br/>`.
static MARKUP_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>").ok());

/// Markup that is dangerous even unclosed: script-capable elements, comments, doctypes, CDATA
/// sections and processing instructions.
static MARKUP_DANGEROUS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"</?(?i-u:script|iframe|frame|frameset|object|embed|applet|svg|math|img|style|link",
        r"|meta|base|form|noscript|marquee|isindex)\b",
        r"|<!--|<!(?i-u:doctype)\b|<!\[(?i-u:cdata)\[|<\?(?i-u:xml|php)\b",
    ))
    .ok()
});

/// A URL with a scheme.
static URL_SCHEME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?i-u:https?|ftps?|sftp)://[^\s<>]").ok());

/// A host name starting with `www.`.
static URL_WWW: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?i-u:www)\.[A-Za-z0-9-]+\.[A-Za-z]{2,}").ok());

/// A bare domain; group 1 is the top-level domain.
static URL_DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+([A-Za-z]{2,24})").ok()
});

/// An e-mail address.
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
    ))
    .ok()
});

/// A phone number candidate: `+CC`, `(area)`, then digit groups joined by one separator.
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,15}(?:[ .-][0-9]{1,15}){0,6}",
    )
    .ok()
});

/// Top-level domains that make a bare `name.tld` a URL without a path. Left out on purpose:
/// those that are common file extensions (`rs`, `md`, `sh`, `py`, `pl`, `cc`, `so`, `app`, `zip`,
/// `mov`, …) or English words (`at`, `be`, `in`, `it`, `me`, `no`, `to`, `us`, …).
const COMMON_TLDS: &[&str] = &[
    "ai", "ar", "au", "biz", "blog", "br", "ca", "ch", "cl", "cloud", "club", "cn", "co", "com",
    "cz", "de", "dev", "dk", "edu", "es", "eu", "fi", "fr", "gov", "gr", "hk", "hu", "ie", "il",
    "info", "int", "io", "jp", "kr", "live", "mil", "mx", "net", "news", "nl", "nz", "online",
    "org", "page", "pt", "ro", "ru", "se", "sg", "shop", "site", "tech", "top", "tr", "tv", "tw",
    "ua", "uk", "xyz", "za",
];

fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|head| head.chars().next_back())
}

fn chars_after(text: &str, at: usize) -> std::str::Chars<'_> {
    text.get(at..).unwrap_or_default().chars()
}

fn has_markup(text: &str) -> bool {
    let dangerous = MARKUP_DANGEROUS.as_ref().is_some_and(|re| {
        re.find_iter(text).any(|found| {
            // `Array<Object>`, `Vec<Frame>`, `Box<Link>`: element names that are also type names
            // count only when not glued to a word; `script` and `iframe` always count.
            let name = found.as_str().trim_start_matches(['<', '/']);
            !char_before(text, found.start()).is_some_and(is_word)
                || !name.starts_with(|c: char| c.is_ascii_alphabetic())
                || name.eq_ignore_ascii_case("script")
                || name.eq_ignore_ascii_case("iframe")
        })
    });
    if dangerous {
        return true;
    }
    let Some(tag) = MARKUP_TAG.as_ref() else {
        return false;
    };
    tag.find_iter(text).any(|found| {
        // `Vec<T>`, `Option<String>`: a bare `<Name>` glued to a word is a generic type.
        let generic = !found
            .as_str()
            .contains(|c: char| c == '/' || c.is_whitespace())
            && char_before(text, found.start()).is_some_and(is_word);
        !generic
    })
}

fn has_url(text: &str) -> bool {
    if [&URL_SCHEME, &URL_WWW]
        .into_iter()
        .any(|re| re.as_ref().is_some_and(|re| re.is_match(text)))
    {
        return true;
    }
    let Some(domain) = URL_DOMAIN.as_ref() else {
        return false;
    };
    domain.captures_iter(text).any(|captures| {
        let (Some(whole), Some(tld)) = (captures.get(0), captures.get(1)) else {
            return false;
        };
        if char_before(text, whole.start())
            .is_some_and(|c| is_word(c) || matches!(c, '.' | '@' | '-'))
        {
            return false;
        }
        let mut after = chars_after(text, whole.end());
        match (after.next(), after.next()) {
            (Some(c), _) if is_word(c) || matches!(c, '@' | '-') => false,
            (Some('/'), Some(next)) if !next.is_whitespace() => true,
            (Some(':'), Some(next)) if next.is_ascii_digit() => true,
            _ => COMMON_TLDS.contains(&tld.as_str()),
        }
    })
}

fn has_phone(text: &str, blocked_spans: &mut [Range<usize>]) -> bool {
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

//! The scans: the public entry points, and the walk through every string of a help request's
//! `messages` with the field path each finding is reported under.

use std::fmt::Write as _;

use serde_json::Value;

use super::detect::detect;
use super::report::ScanReport;

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

/// Scans the action of an approval request (PROTOCOL H4): every string inside it, as in
/// `messages`, under the root `action` (`action[0].args.to`).
pub fn scan_action(action: &Value) -> ScanReport {
    let mut report = ScanReport::new();
    scan_json(&mut report, "action", std::slice::from_ref(action));
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
pub(super) fn is_plain_key(key: &str) -> bool {
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

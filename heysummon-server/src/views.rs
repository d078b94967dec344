//! How stored records are shown on the wire, the same for the API and the command line.

use std::borrow::Cow;

use heysummon_sdk::wire::{RefCode, RequestId, RequestSummary};

use crate::clock::timestamp;
use crate::store::RequestRecord;

/// The list item of a request; the plaintext question only when `with_question` (never for
/// sealed requests, whose question the server does not have). `None` for a corrupt row.
pub fn request_summary(r: &RequestRecord, with_question: bool) -> Option<RequestSummary> {
    Some(RequestSummary {
        id: RequestId::new(&r.id),
        ref_code: RefCode::parse(&r.ref_code)?,
        status: r.status.clone(),
        requires_approval: r.requires_approval,
        approval_decision: r.approval_decision,
        response_required: r.response_required,
        expires_at: timestamp(r.expires_at),
        message_count: r.message_count,
        created_at: timestamp(r.created_at),
        question: r
            .question
            .as_deref()
            .filter(|_| with_question)
            .map(|q| displayable(q).into_owned()),
        action: r
            .action_json
            .as_deref()
            .filter(|_| with_question)
            .and_then(|text| serde_json::from_str(text).ok()),
        responded_at: r.responded_at.map(timestamp),
        acknowledged_at: r.acknowledged_at.map(timestamp),
        closed_at: r.closed_at.map(timestamp),
    })
}

/// Text an agent wrote, as it may be shown to a person: control characters (NUL and the other
/// C0 and C1 controls but tab, line feed and carriage return) and the bidirectional embeddings,
/// overrides and isolates that reorder what a reader sees (U+202A–U+202E, U+2066–U+2069) are
/// made visible as `<U+XXXX>`. The direction marks of right-to-left writing (U+200E, U+200F,
/// U+061C) reorder nothing and are kept, as is everything else. Borrowed when nothing changes.
pub fn displayable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden_control(c) {
            shown.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

fn is_hidden_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_controls_are_made_visible() {
        assert!(matches!(displayable("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(
            displayable("a\u{0}b\u{202E}cba\u{202C}\u{7}"),
            "a<U+0000>b<U+202E>cba<U+202C><U+0007>"
        );
        assert_eq!(displayable("\u{2067}x\u{2069}"), "<U+2067>x<U+2069>");
        // Right-to-left writing keeps its marks.
        assert!(matches!(displayable("שלום\u{200F} 42"), Cow::Borrowed(_)));
    }
}

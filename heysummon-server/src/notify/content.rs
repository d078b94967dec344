//! What a notification says (PROTOCOL F3), and escaping it for each channel's markup so that
//! nothing taken from a request can draw links, mentions or buttons of its own.
//!
//! A notification carries the reference code, the kind, the client key's name and a link to the
//! request in the dashboard; the question only for a plaintext request. A sealed question never
//! leaves the server: the store holds only its ciphertext, and [`Notice`] has no field for it.

use heysummon_sdk::wire::{ApprovalDecision, Status};

use crate::clock::{Millis, timestamp};
use crate::store::{OutboxKind, RequestRecord};

/// Longest question a chat message carries; the link opens the rest.
const CHAT_QUESTION_CHARS: usize = 1500;

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Occasion {
    /// A new request or notification.
    New,
    /// Still waiting.
    Reminder,
    /// Answered, decided or ended.
    Update,
    /// `channel test`.
    Test,
}

impl From<OutboxKind> for Occasion {
    fn from(kind: OutboxKind) -> Self {
        match kind {
            OutboxKind::New => Self::New,
            OutboxKind::Reminder => Self::Reminder,
            OutboxKind::Update => Self::Update,
        }
    }
}

/// One notification, before it is rendered for a channel.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub(crate) occasion: Occasion,
    /// Stable across retries of one delivery (the webhook's `webhook-id`).
    pub(crate) delivery_id: String,
    pub(crate) request_id: String,
    pub(crate) ref_code: String,
    /// `question`, `approval` or `notification`.
    pub(crate) kind: &'static str,
    pub(crate) key_name: String,
    pub(crate) link: String,
    /// Only for a plaintext request.
    pub(crate) question: Option<String>,
    pub(crate) sealed: bool,
    /// The approval must be signed by the expert (PROTOCOL H4): no chat button can do that.
    pub(crate) needs_signature: bool,
    pub(crate) status: Status,
    pub(crate) decision: Option<ApprovalDecision>,
    /// Who answered or decided, and when (for the edited message).
    pub(crate) expert_name: String,
    pub(crate) changed_at: Millis,
    pub(crate) created_at: Millis,
}

impl Notice {
    /// The notice about a request.
    pub(crate) fn about(
        request: &RequestRecord,
        occasion: Occasion,
        delivery_id: String,
        key_name: String,
        expert_name: String,
        base_url: &str,
    ) -> Self {
        Self {
            occasion,
            delivery_id,
            request_id: request.id.clone(),
            ref_code: request.ref_code.clone(),
            kind: crate::lifecycle::kind_label(request),
            key_name,
            link: format!("{base_url}/#/requests/{}", request.id),
            question: if request.sealed {
                None
            } else {
                request.question.clone()
            },
            sealed: request.sealed,
            needs_signature: request.sealed || request.action_hash.is_some(),
            status: request.status.clone(),
            decision: request.approval_decision,
            expert_name,
            changed_at: request.status_changed_at,
            created_at: request.created_at,
        }
    }

    /// A test notification for a channel.
    pub(crate) fn test(
        delivery_id: String,
        expert_name: String,
        base_url: &str,
        now: Millis,
    ) -> Self {
        Self {
            occasion: Occasion::Test,
            delivery_id,
            request_id: String::new(),
            ref_code: "HS-TEST".to_owned(),
            kind: "notification",
            key_name: "HeySummon".to_owned(),
            link: format!("{base_url}/#/settings"),
            question: Some("This is a test notification: this channel works.".to_owned()),
            sealed: false,
            needs_signature: false,
            status: Status::Pending,
            decision: None,
            expert_name,
            changed_at: now,
            created_at: now,
        }
    }

    /// Whether buttons to approve or deny belong on it: an approval still undecided and open,
    /// when it is announced and whenever its message is brought up to date, that needs no
    /// signature (those are decided in the dashboard, which the message links to).
    pub(crate) fn wants_decision(&self) -> bool {
        self.kind == "approval"
            && !self.needs_signature
            && matches!(self.occasion, Occasion::New | Occasion::Update)
            && self.decision.is_none()
            && !self.status.is_terminal()
    }

    /// Whether a chat reply can answer it (a plaintext question still open).
    pub(crate) fn takes_reply(&self) -> bool {
        self.kind != "notification" && !self.sealed && self.occasion == Occasion::New
    }

    /// The first line, plain text: "New approval HS-ABCD from deploy-bot".
    pub(crate) fn headline(&self) -> String {
        let what = match self.occasion {
            Occasion::New => format!("New {}", self.kind),
            Occasion::Reminder => format!("Still waiting: {}", self.kind),
            Occasion::Update => capitalised(self.kind),
            Occasion::Test => "Test notification".to_owned(),
        };
        visible(&format!("{what} {} from {}", self.ref_code, self.key_name))
    }

    /// The question as a chat shows it: control and direction characters made visible,
    /// shortened to what a chat message holds.
    pub(crate) fn chat_question(&self) -> Option<String> {
        let question = visible(self.question.as_deref()?);
        Some(if question.chars().count() > CHAT_QUESTION_CHARS {
            let mut short: String = question.chars().take(CHAT_QUESTION_CHARS).collect();
            short.push('…');
            short
        } else {
            question
        })
    }

    /// The line a sealed request shows instead of its question.
    pub(crate) const SEALED_LINE: &'static str =
        "End-to-end encrypted: open it in the dashboard to read and answer.";

    /// The outcome line of an update: "Approved by Ada at 2026-12-07T10:00:00Z".
    pub(crate) fn outcome(&self) -> String {
        let at = timestamp(self.changed_at);
        let who = visible(&self.expert_name);
        match (self.decision, &self.status) {
            (Some(ApprovalDecision::Approved), _) => format!("Approved by {who} at {at}"),
            (Some(ApprovalDecision::Denied), _) => format!("Denied by {who} at {at}"),
            (None, Status::Responded) => format!("Answered by {who} at {at}"),
            (None, status) => format!("{} at {at}", capitalised(status.as_str())),
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Text from a request as a chat or an e-mail shows it: control characters (but line breaks
/// and tabs) and bidirectional overrides shown as `<U+XXXX>`, so it cannot reorder or hide
/// what is displayed; and URLs and domain names broken with a zero-width space after `:` of
/// `://` and after each `.` between letters, so no client turns them into links of their own.
pub(crate) fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let hidden = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if hidden {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
            continue;
        }
        out.push(c);
        let next = chars.get(i + 1).copied();
        let scheme = c == ':' && next == Some('/') && chars.get(i + 2) == Some(&'/');
        let domain = c == '.'
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && next.is_some_and(char::is_alphanumeric);
        if scheme || domain {
            out.push('\u{200B}');
        }
    }
    out
}

/// Escapes text for HTML (Telegram's `parse_mode=HTML`, the e-mail's HTML part).
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for Slack's mrkdwn: the three characters Slack asks to escape (so no
/// `<link|…>`, `<@user>` or `<!channel>` can form), and the formatting characters made
/// literal with a zero-width space so they cannot pair up.
pub(crate) fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '~' | '`' => {
                out.push(c);
                out.push('\u{200B}');
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for Discord's markdown: every character that can emphasise, quote, head, mask a
/// link or start a URL or an emoji backslash-escaped; `@` broken with a zero-width space (and
/// the message allows no mentions anyway).
pub(crate) fn discord(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '(' | ')' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_cannot_form() {
        assert_eq!(
            html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(
            slack("<!channel> <http://x|y>"),
            "&lt;!channel&gt; &lt;http://x|y&gt;"
        );
        assert!(!slack("*bold*").contains("*b"));
        assert_eq!(discord("[x](http://e)"), "\\[x\\]\\(http\\://e\\)");
        assert!(!discord("@everyone").contains("@everyone"));
    }

    #[test]
    fn hidden_characters_become_visible_and_links_are_broken() {
        assert_eq!(visible("a\u{202E}b\u{7}\nc"), "a<U+202E>b<U+0007>\nc");
        assert_eq!(
            visible("see https://evil.example"),
            "see https:\u{200B}//evil.\u{200B}example"
        );
        assert_eq!(visible("3.5 apples. Then"), "3.\u{200B}5 apples. Then");
    }
}

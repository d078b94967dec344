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

mod detect;
mod numbers;
mod phone;
mod report;
mod scan;
mod web;

#[cfg(test)]
mod tests;

pub use report::{BLOCKED_ERROR, Flag, FlagType, MAX_FLAGS, ScanReport};
pub use scan::{scan_action, scan_help_request, scan_plaintext_message, scan_text};

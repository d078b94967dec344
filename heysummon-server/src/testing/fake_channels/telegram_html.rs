//! The part of Telegram's `parse_mode: "HTML"` parser that refuses a text: every `<` must open
//! or close a supported tag, and tags must nest. (A bare `&` or `>` is taken literally, as
//! Telegram does.)

/// The tags the Bot API supports.
const SUPPORTED: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

/// `Ok` when Telegram accepts `text` as HTML; otherwise its complaint (after "can't parse
/// entities: ").
pub(super) fn check(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find('<') {
        let start = at + found;
        let end = tag_end(bytes, start)
            .ok_or_else(|| format!("Unclosed start tag at byte offset {start}"))?;
        let inner = &text[start + 1..end];
        let (closing, rest) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("Empty tag name at byte offset {start}"));
        }
        if !SUPPORTED.contains(&name.as_str()) {
            let which = if closing { "end" } else { "start" };
            return Err(format!(
                "Unsupported {which} tag \"{name}\" at byte offset {start}"
            ));
        }
        if closing {
            match open.pop() {
                Some(expected) if expected == name => {}
                Some(expected) => {
                    return Err(format!(
                        "Unmatched end tag at byte offset {start}, expected \"</{expected}>\", \
                         found \"</{name}>\""
                    ));
                }
                None => {
                    return Err(format!(
                        "Unexpected end tag at byte offset {start}: \"</{name}>\""
                    ));
                }
            }
        } else {
            open.push(name);
        }
        at = end + 1;
    }
    match open.pop() {
        Some(name) => Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        )),
        None => Ok(()),
    }
}

/// The index of the `>` ending the tag that starts at `start` (quoted attribute values may
/// hold a `>`).
fn tag_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(i),
            (None, b'<') => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_supported_nested_tags_and_entities() {
        check("<b>Question</b> from <i>Bob's agent</i>: 1 &lt; 2 &amp; x > y").unwrap();
        check(r#"<a href="https://x.test/?a=1&b=>">link</a> <code>c</code>"#).unwrap();
        check("plain & simple").unwrap();
    }

    #[test]
    fn refuses_what_telegram_refuses() {
        assert!(check("1 < 2").is_err());
        assert!(check("a <> b").unwrap_err().contains("Empty tag name"));
        assert!(
            check("<script>x</script>")
                .unwrap_err()
                .contains("Unsupported start tag")
        );
        assert!(check("<b>bold").unwrap_err().contains("Can't find end tag"));
        assert!(
            check("<b><i>x</b></i>")
                .unwrap_err()
                .contains("Unmatched end tag")
        );
        assert!(check("a <b").unwrap_err().contains("Unclosed start tag"));
    }
}

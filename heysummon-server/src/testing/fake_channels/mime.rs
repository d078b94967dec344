//! Reading a [`Mail`]: its headers (unfolded, RFC 2047 encoded words decoded) and its text
//! and HTML parts (through `multipart/*`, base64 and quoted-printable decoded), enough to
//! check what a notification says whatever encoding the mailer chose.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::smtp::Mail;

impl Mail {
    /// The first header `name` (case-insensitive) of the message, unfolded, encoded words
    /// (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split(&self.data);
        headers
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| decode_words(&value))
    }

    /// The decoded body of the first `text/plain` part (the whole body when the message is
    /// not multipart and is text/plain).
    pub fn text_body(&self) -> Option<String> {
        self.part("text/plain")
    }

    /// The decoded body of the first `text/html` part.
    pub fn html_body(&self) -> Option<String> {
        self.part("text/html")
    }

    /// Every leaf part: its content type (lowercase, without parameters) and decoded body.
    pub fn parts(&self) -> Vec<(String, String)> {
        let mut parts = Vec::new();
        leaves(&self.data, &mut parts);
        parts
    }

    fn part(&self, content_type: &str) -> Option<String> {
        self.parts()
            .into_iter()
            .find(|(t, _)| t == content_type)
            .map(|(_, body)| body)
    }
}

/// Headers (name, unfolded value) and body of an entity.
fn split(entity: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match entity.find("\r\n\r\n") {
        Some(at) => (&entity[..at], &entity[at + 4..]),
        None => match entity.find("\n\n") {
            Some(at) => (&entity[..at], &entity[at + 2..]),
            None => (entity, ""),
        },
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// Collects the leaf parts of an entity.
fn leaves(entity: &str, into: &mut Vec<(String, String)>) {
    let (headers, body) = split(entity);
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content_type = find("content-type").unwrap_or("text/plain");
    let mut params = content_type.split(';');
    let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let boundary = params.find_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"').to_owned())
        });
        if let Some(boundary) = boundary {
            let delimiter = format!("--{boundary}");
            for chunk in body.split(delimiter.as_str()).skip(1) {
                if chunk.starts_with("--") {
                    break;
                }
                let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
                let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
                leaves(chunk, into);
            }
        }
        return;
    }
    let encoding = find("content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8_lossy(&STANDARD.decode(compact).unwrap_or_default()).into_owned()
        }
        "quoted-printable" => quoted_printable(body, false),
        _ => body.to_owned(),
    };
    into.push((mime, decoded));
}

/// Decodes quoted-printable (`=XX`, soft line breaks); in an encoded word (`q`), `_` is a
/// space.
fn quoted_printable(text: &str, word: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' => match text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b'_' if word => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes the RFC 2047 encoded words of a header value (whitespace between two encoded
/// words dropped).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let decoded = rest[start + 2..].split_once("?=").and_then(|(word, tail)| {
            let mut pieces = word.splitn(3, '?');
            let (_charset, encoding, text) = (pieces.next()?, pieces.next()?, pieces.next()?);
            let text = match encoding.to_ascii_lowercase().as_str() {
                "b" => String::from_utf8_lossy(&STANDARD.decode(text).ok()?).into_owned(),
                "q" => quoted_printable(text, true),
                _ => return None,
            };
            Some((text, tail))
        });
        let Some((text, tail)) = decoded else { break };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        out.push_str(&text);
        rest = tail;
        after_word = true;
    }
    out.push_str(rest);
    out
}

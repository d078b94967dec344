//! The client API key the guard holds: zeroized on drop, redacted in `Debug`, compared in
//! constant time, kept ready as a sensitive header value.

use std::fmt;
use std::path::Path;

use hyper::header::HeaderValue;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;

/// Longest accepted key (the server's limit).
const MAX_KEY_CHARS: usize = 512;

/// A client (agent) API key. `Debug` never prints it.
#[derive(Clone)]
pub struct ApiKey {
    text: Zeroizing<String>,
    header: HeaderValue,
}

impl ApiKey {
    /// Checks and wraps a key: 1 to 512 visible ASCII characters.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = Zeroizing::new(text.into());
        let visible = text.bytes().all(|b| b.is_ascii_graphic());
        if text.is_empty() || text.len() > MAX_KEY_CHARS || !visible {
            return Err(Error::Config(
                "the API key must be 1 to 512 visible ASCII characters".into(),
            ));
        }
        let mut header = HeaderValue::from_str(&text)
            .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
        header.set_sensitive(true);
        Ok(Self { text, header })
    }

    /// Reads a key from a file (surrounding whitespace, e.g. a final newline, is ignored).
    pub fn read_file(path: &Path) -> Result<Self, Error> {
        let raw =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?);
        Self::new(raw.trim().to_owned())
    }

    /// The key. Handle with care: never log it.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The key as a header value (marked sensitive).
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// Whether `presented` is this key, in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.text.as_bytes().ct_eq(presented).into()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

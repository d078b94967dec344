//! The four signature headers of a request: their names, and writing and reading their values.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::canonical::Nonce;
use crate::error::SignatureRejection;

/// Milliseconds since the Unix epoch at signing time.
pub const HEADER_TIMESTAMP: &str = "x-heysummon-timestamp";
/// 16 random bytes, lowercase hex.
pub const HEADER_NONCE: &str = "x-heysummon-nonce";
/// Standard base64 of the Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "x-heysummon-signature";
/// Lowercase hex SHA-256 of the signing device's DER SPKI.
pub const HEADER_DEVICE: &str = "x-heysummon-device";
/// The API key header, whose value the canonical text covers by hash.
pub const HEADER_API_KEY: &str = "x-api-key";
/// The four signature headers of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// Milliseconds since the Unix epoch at signing time.
    pub timestamp_ms: i64,
    /// The request nonce.
    pub nonce: Nonce,
    /// The Ed25519 signature over the canonical text.
    pub signature: [u8; 64],
    /// Which device signed: lowercase hex SHA-256 of its DER SPKI.
    pub device_id: String,
}

impl fmt::Debug for SignatureHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeaders")
            .field("timestamp_ms", &self.timestamp_ms)
            .field("nonce", &self.nonce)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl SignatureHeaders {
    /// The header names and values to attach to the request.
    pub fn to_pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_TIMESTAMP, self.timestamp_ms.to_string()),
            (HEADER_NONCE, self.nonce.to_string()),
            (HEADER_SIGNATURE, BASE64.encode(self.signature)),
            (HEADER_DEVICE, self.device_id.clone()),
        ]
    }

    /// Reads the four headers through a look-up function (header name → value).
    ///
    /// `Ok(None)` when none of them is present (an unsigned request); `Err(Invalid)` when only
    /// some are present or any is malformed.
    pub fn from_lookup<'a>(
        mut header: impl FnMut(&str) -> Option<&'a str>,
    ) -> Result<Option<Self>, SignatureRejection> {
        let values = [
            header(HEADER_TIMESTAMP),
            header(HEADER_NONCE),
            header(HEADER_SIGNATURE),
            header(HEADER_DEVICE),
        ];
        let [Some(timestamp), Some(nonce), Some(signature), Some(device)] = values else {
            return if values.iter().all(Option::is_none) {
                Ok(None)
            } else {
                Err(SignatureRejection::Invalid)
            };
        };
        let invalid = SignatureRejection::Invalid;
        let timestamp_ms = if timestamp.bytes().all(|b| b.is_ascii_digit()) {
            timestamp.parse::<i64>().map_err(|_| invalid)?
        } else {
            return Err(invalid);
        };
        let nonce = Nonce::parse(nonce).ok_or(invalid)?;
        let signature: [u8; 64] = BASE64
            .decode(signature)
            .map_err(|_| invalid)?
            .try_into()
            .map_err(|_| invalid)?;
        let device_ok = device.len() == 64
            && device
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !device_ok {
            return Err(invalid);
        }
        Ok(Some(Self {
            timestamp_ms,
            nonce,
            signature,
            device_id: device.to_owned(),
        }))
    }
}

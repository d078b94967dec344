//! Identifier newtypes. Every id on the wire is an opaque string; the newtypes only keep a request
//! id from being passed where a key id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id received from a server or stored earlier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the id, returning the wire string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

opaque_id!(
    /// A help request (`requestId`).
    RequestId
);
opaque_id!(
    /// A client API key record (`keyId`); never the key itself.
    KeyId
);
opaque_id!(
    /// An expert (`expertId`).
    ExpertId
);
opaque_id!(
    /// The owner (tenant) of keys and experts.
    OwnerId
);
opaque_id!(
    /// A stored message row (`id` in a message list).
    MessageRowId
);
opaque_id!(
    /// The sender-chosen id of a message (`messageId`): the HKDF salt of PROTOCOL part C and the
    /// per-request deduplication key. A random UUID v4 unless the sender chooses one.
    MessageId
);

impl MessageId {
    /// A fresh random UUID v4, the default for new messages.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

/// A human-facing reference code: `HS-` followed by eight characters from `A–Z0–9`.
///
/// Parsing is case-insensitive and normalises to upper case, as look-ups by reference code are.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RefCode(String);

/// The reference-code alphabet: 36 symbols.
pub const REF_CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// The fixed prefix of every reference code.
pub const REF_CODE_PREFIX: &str = "HS-";
/// The number of random characters after the prefix.
pub const REF_CODE_LEN: usize = 8;

impl RefCode {
    /// Parses and normalises a reference code (`hs-7k2qx9lb` → `HS-7K2QX9LB`).
    ///
    /// Returns `None` unless the text is `HS-` plus exactly eight ASCII letters or digits.
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix(REF_CODE_PREFIX)?;
        let valid =
            rest.len() == REF_CODE_LEN && rest.bytes().all(|b| REF_CODE_ALPHABET.contains(&b));
        valid.then_some(Self(upper))
    }

    /// Builds a reference code from eight random bytes of a CSPRNG, mapping each byte onto the
    /// alphabet by rejection sampling so that every symbol is equally likely. Returns `None` when
    /// the bytes ran out before eight symbols were found (the caller draws more and retries).
    pub fn from_random_bytes(bytes: &[u8]) -> Option<Self> {
        // 252 = 7 * 36: bytes at or above it would bias the first symbols.
        let mut code = String::with_capacity(REF_CODE_PREFIX.len() + REF_CODE_LEN);
        code.push_str(REF_CODE_PREFIX);
        let mut taken = 0;
        for &b in bytes {
            if b < 252 {
                code.push(char::from(REF_CODE_ALPHABET[usize::from(b % 36)]));
                taken += 1;
                if taken == REF_CODE_LEN {
                    return Some(Self(code));
                }
            }
        }
        None
    }

    /// A fresh reference code from the operating system's CSPRNG.
    pub fn random() -> Self {
        use rand_core::{OsRng, RngCore};
        loop {
            let mut bytes = [0u8; 16];
            OsRng.fill_bytes(&mut bytes);
            if let Some(code) = Self::from_random_bytes(&bytes) {
                return code;
            }
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RefCode {
    /// Accepts any string a server sends (older HeySummon servers used other formats), normalising
    /// well-formed codes to upper case.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self::parse(&raw).unwrap_or(Self(raw)))
    }
}

impl fmt::Debug for RefCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefCode({:?})", self.0)
    }
}

impl fmt::Display for RefCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_codes_parse_case_insensitively() {
        let code = RefCode::parse("hs-7k2qx9lb").unwrap();
        assert_eq!(code.as_str(), "HS-7K2QX9LB");
        assert!(RefCode::parse("HS-7K2QX9L").is_none());
        assert!(RefCode::parse("HS-7K2QX9LBX").is_none());
        assert!(RefCode::parse("HX-7K2QX9LB").is_none());
        assert!(RefCode::parse("HS-7K2QX9L_").is_none());
    }

    #[test]
    fn random_ref_codes_are_well_formed_and_differ() {
        let a = RefCode::random();
        let b = RefCode::random();
        assert!(RefCode::parse(a.as_str()).is_some());
        assert_ne!(a, b);
    }

    #[test]
    fn rejection_sampling_skips_biased_bytes() {
        let bytes = [255, 252, 0, 1, 2, 3, 4, 5, 6, 35];
        assert_eq!(
            RefCode::from_random_bytes(&bytes).unwrap().as_str(),
            "HS-ABCDEFG9"
        );
        assert!(RefCode::from_random_bytes(&[255; 30]).is_none());
    }

    #[test]
    fn message_ids_are_uuid_v4() {
        let id = MessageId::random();
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }
}

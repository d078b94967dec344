//! PKCS#8 private keys of the two algorithms, as the expert identity file carries them.
//!
//! Writers produce the fixed 48-byte PKCS#8 v1 (`PrivateKeyInfo`, RFC 5208) layout:
//! `302e020100300506032b65{70|6e}04220420` followed by the 32-byte key (the Ed25519 seed or the
//! X25519 secret), which is what WebCrypto and OpenSSL export. Readers also accept PKCS#8 v2
//! (`OneAsymmetricKey`, RFC 5958: version 1 and the public key appended as `[1]`), and optional
//! attributes (`[0]`), by walking the DER instead of matching bytes. A public key carried in a v2
//! structure is returned so the caller can check it against the one derived from the private key.
//!
//! Only definite, minimal DER lengths are accepted; anything unexpected is `None` (callers turn
//! it into their one opaque error).

use zeroize::Zeroizing;

use crate::error::KeyAlgorithm;

/// Bytes of the PKCS#8 v1 encoding of either key kind.
pub(crate) const PKCS8_V1_LEN: usize = 48;

/// The DER of the algorithm's OID 1.3.101.112 (Ed25519) or 1.3.101.110 (X25519).
fn oid(algorithm: KeyAlgorithm) -> [u8; 5] {
    match algorithm {
        KeyAlgorithm::Ed25519 => [0x06, 0x03, 0x2b, 0x65, 0x70],
        KeyAlgorithm::X25519 => [0x06, 0x03, 0x2b, 0x65, 0x6e],
    }
}

/// The PKCS#8 v1 DER of a 32-byte private key.
pub(crate) fn encode_v1(algorithm: KeyAlgorithm, key: &[u8; 32]) -> Zeroizing<[u8; PKCS8_V1_LEN]> {
    let mut der = Zeroizing::new([0u8; PKCS8_V1_LEN]);
    // SEQUENCE (46) { INTEGER 0, SEQUENCE (5) { OID }, OCTET STRING (34) { OCTET STRING (32) } }
    der[..5].copy_from_slice(&[0x30, 0x2e, 0x02, 0x01, 0x00]);
    der[5..7].copy_from_slice(&[0x30, 0x05]);
    der[7..12].copy_from_slice(&oid(algorithm));
    der[12..16].copy_from_slice(&[0x04, 0x22, 0x04, 0x20]);
    der[16..].copy_from_slice(key);
    der
}

/// A private key read from PKCS#8: the 32 key bytes, and the public key when a v2 structure
/// carried one.
pub(crate) struct DecodedPrivateKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) public: Option<[u8; 32]>,
}

/// Reads a PKCS#8 v1 or v2 private key of `algorithm`.
pub(crate) fn decode(algorithm: KeyAlgorithm, der: &[u8]) -> Option<DecodedPrivateKey> {
    let mut outer = Reader::new(der);
    let body = outer.element(0x30)?;
    if !outer.is_empty() {
        return None;
    }
    let mut fields = Reader::new(body);
    let version = match fields.element(0x02)? {
        [0x00] => 0,
        [0x01] => 1,
        _ => return None,
    };
    // AlgorithmIdentifier: the OID alone (RFC 8410 forbids parameters).
    if fields.element(0x30)? != oid(algorithm) {
        return None;
    }
    // privateKey: an OCTET STRING wrapping the CurvePrivateKey, itself an OCTET STRING.
    let mut wrapped = Reader::new(fields.element(0x04)?);
    let raw = wrapped.element(0x04)?;
    if !wrapped.is_empty() || raw.len() != 32 {
        return None;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(raw);

    // attributes [0] IMPLICIT (constructed), then publicKey [1] IMPLICIT BIT STRING (v2 only).
    if fields.peek() == Some(0xa0) {
        fields.element(0xa0)?;
    }
    let mut public = None;
    if fields.peek() == Some(0x81) {
        if version != 1 {
            return None;
        }
        match fields.element(0x81)? {
            [0x00, rest @ ..] if rest.len() == 32 => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(rest);
                public = Some(bytes);
            }
            _ => return None,
        }
    }
    fields
        .is_empty()
        .then_some(DecodedPrivateKey { key, public })
}

/// A cursor over DER elements: tag, definite minimal length, contents.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The contents of the next element, which must have tag `tag`.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.rest.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81 => {
                let (&len, tail) = rest.split_first()?;
                rest = tail;
                // Minimal encoding: lengths below 128 use the short form.
                if len < 0x80 {
                    return None;
                }
                usize::from(len)
            }
            0x82 => {
                let (len, tail) = rest.split_at_checked(2)?;
                rest = tail;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 0x100 {
                    return None;
                }
                len
            }
            // Indefinite lengths (BER) and anything longer than 64 KiB: not a key of ours.
            _ => return None,
        };
        let (contents, tail) = rest.split_at_checked(len)?;
        self.rest = tail;
        Some(contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_V1_PREFIX: &str = "302e020100300506032b657004220420";
    const X_V1_PREFIX: &str = "302e020100300506032b656e04220420";

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    #[test]
    fn v1_encodes_the_fixed_layouts() {
        let key = [7u8; 32];
        let ed = encode_v1(KeyAlgorithm::Ed25519, &key);
        assert_eq!(
            hex::encode(ed.as_slice()),
            format!("{ED_V1_PREFIX}{}", "07".repeat(32))
        );
        let x = encode_v1(KeyAlgorithm::X25519, &key);
        assert_eq!(
            hex::encode(x.as_slice()),
            format!("{X_V1_PREFIX}{}", "07".repeat(32))
        );
        let decoded = decode(KeyAlgorithm::X25519, x.as_slice()).unwrap();
        assert_eq!(*decoded.key, key);
        assert!(decoded.public.is_none());
    }

    #[test]
    fn v2_with_public_key_and_attributes_is_read() {
        // OneAsymmetricKey: version 1, the key, empty attributes [0], publicKey [1].
        let seed = "11".repeat(32);
        let public = "22".repeat(32);
        let body =
            format!("020101300506032b657004220420{seed}a0008121 00{public}").replace(' ', "");
        let der = format!("30{:02x}{body}", body.len() / 2);
        let decoded = decode(KeyAlgorithm::Ed25519, &unhex(&der)).unwrap();
        assert_eq!(*decoded.key, [0x11; 32]);
        assert_eq!(decoded.public, Some([0x22; 32]));
    }

    #[test]
    fn malformed_or_foreign_keys_are_refused() {
        let seed = "11".repeat(32);
        let good = format!("{ED_V1_PREFIX}{seed}");
        assert!(decode(KeyAlgorithm::Ed25519, &unhex(&good)).is_some());
        let refused = [
            // the other algorithm
            format!("{X_V1_PREFIX}{seed}"),
            // trailing garbage
            format!("{good}00"),
            // truncated
            good[..good.len() - 2].to_owned(),
            // version 2
            good.replacen("020100", "020102", 1),
            // a public key in a v1 structure
            format!(
                "3051020100300506032b657004220420{seed}812100{}",
                "22".repeat(32)
            ),
            // a 31-byte key
            format!("302d020100300506032b65700421041f{}", "11".repeat(31)),
            // a non-minimal length
            format!("30812e020100300506032b657004220420{seed}"),
            String::new(),
        ];
        for der in refused {
            assert!(
                decode(KeyAlgorithm::Ed25519, &unhex(&der)).is_none(),
                "{der}"
            );
        }
    }
}

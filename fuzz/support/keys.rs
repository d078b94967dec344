//! Fuzz target `keys`: public-key parsing of `heysummon_sdk::keys` (hex of DER SPKI, PEM,
//! base64, raw DER), `PublicKeys::parse` and `Fingerprint::parse` on arbitrary strings. Nothing
//! may panic, and every key that parses must come back from each of its written forms.
//!
//! Shared by `fuzz/fuzz_targets/keys.rs` and `tests/fuzz_corpus/main.rs`.

use heysummon_sdk::keys::{EncryptPublicKey, Fingerprint, PublicKeys, SignPublicKey};

macro_rules! check_forms {
    ($ty:ty, $key:expr) => {{
        let key: $ty = $key;
        for form in [key.to_hex(), key.to_pem(), key.to_base64()] {
            let again = <$ty>::parse(&form)
                .unwrap_or_else(|err| panic!("{form:?} does not parse back: {err}"));
            assert_eq!(again, key, "{form:?}");
        }
        assert_eq!(<$ty>::from_der(&key.to_der()).ok(), Some(key));
    }};
}

/// One fuzz input. `|` separates the two keys given to `PublicKeys::parse`.
pub(crate) fn run(data: &[u8]) {
    if let (Ok(key), _) | (_, Ok(key)) = (
        SignPublicKey::from_der(data).map(|k| k.to_hex()),
        EncryptPublicKey::from_der(data).map(|k| k.to_hex()),
    ) {
        assert_eq!(key.len(), 88);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = SignPublicKey::parse(&text) {
        check_forms!(SignPublicKey, key);
    }
    if let Ok(key) = EncryptPublicKey::parse(&text) {
        check_forms!(EncryptPublicKey, key);
    }
    let (sign, encrypt) = text.split_once('|').unwrap_or((&text, ""));
    if let Ok(keys) = PublicKeys::parse(sign, encrypt) {
        let fingerprint = keys.fingerprint();
        let shown = Fingerprint::parse(&fingerprint.grouped()).map(|f| *f.as_bytes());
        assert_eq!(shown, Some(*fingerprint.as_bytes()));
    }
    if let Some(fingerprint) = Fingerprint::parse(&text) {
        let again = Fingerprint::parse(&fingerprint.grouped()).map(|f| *f.as_bytes());
        assert_eq!(again, Some(*fingerprint.as_bytes()));
    }
}

/// The key encodings of the test vectors (`heysummon-sdk/tests/data/e2e-messages.json`).
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    const SIGN: &str =
        "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
    const ENCRYPT: &str =
        "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59";
    const SIGN_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n-----END PUBLIC KEY-----\n";
    const ENCRYPT_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAzo060cy2M+x7cMF4FKXHbs0CloUFDTRHRboFhw5YfVk=\n-----END PUBLIC KEY-----\n";
    let mut seeds = vec![
        SIGN.to_owned(),
        ENCRYPT.to_owned(),
        SIGN_PEM.to_owned(),
        ENCRYPT_PEM.to_owned(),
        "MCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=".to_owned(),
        format!("{SIGN}|{ENCRYPT}"),
        format!("{SIGN_PEM}|{ENCRYPT_PEM}"),
        "0011 2233 4455 6677 8899 aabb ccdd eeff 0011 2233 4455 6677 8899 aabb ccdd eeff".to_owned(),
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect::<Vec<_>>();
    seeds.extend(hex::decode(SIGN).ok());
    seeds
}

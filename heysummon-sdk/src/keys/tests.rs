use super::*;

const SIGN_HEX: &str =
    "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const ENC_HEX: &str =
    "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59";

fn problem(err: Error) -> KeyProblem {
    match err {
        Error::InvalidPublicKey { problem, .. } => problem,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn seeds_give_the_published_public_keys() {
    let sign = SigningKeyPair::from_seed(&[1; 32]);
    assert_eq!(sign.public().to_hex(), SIGN_HEX);
    let enc = EncryptionKeyPair::from_secret_bytes(&[2; 32]);
    assert_eq!(enc.public().to_hex(), ENC_HEX);
    assert_eq!(*sign.seed(), [1; 32]);
    assert_eq!(*enc.secret_bytes(), [2; 32]);
}

#[test]
fn every_encoding_parses_to_the_same_key() {
    let key = SignPublicKey::parse(SIGN_HEX).unwrap();
    assert_eq!(SignPublicKey::parse(&key.to_pem()).unwrap(), key);
    assert_eq!(SignPublicKey::parse(&key.to_base64()).unwrap(), key);
    assert_eq!(SignPublicKey::parse(&SIGN_HEX.to_uppercase()).unwrap(), key);
    assert_eq!(
        SignPublicKey::parse(&format!("  {SIGN_HEX}\n")).unwrap(),
        key
    );
    let enc = EncryptPublicKey::parse(ENC_HEX).unwrap();
    assert_eq!(EncryptPublicKey::parse(&enc.to_pem()).unwrap(), enc);
    assert_eq!(EncryptPublicKey::parse(&enc.to_base64()).unwrap(), enc);
    assert!(enc.to_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
}

#[test]
fn malformed_keys_say_what_is_wrong() {
    assert_eq!(
        problem(SignPublicKey::parse("abc").unwrap_err()),
        KeyProblem::BadHex
    );
    assert_eq!(
        problem(SignPublicKey::parse(&SIGN_HEX[..86]).unwrap_err()),
        KeyProblem::WrongLength {
            expected: 44,
            actual: 43
        }
    );
    assert_eq!(
        problem(SignPublicKey::parse(ENC_HEX).unwrap_err()),
        KeyProblem::WrongAlgorithm {
            found: Some(KeyAlgorithm::X25519)
        }
    );
    assert_eq!(
        problem(EncryptPublicKey::parse(SIGN_HEX).unwrap_err()),
        KeyProblem::WrongAlgorithm {
            found: Some(KeyAlgorithm::Ed25519)
        }
    );
    let rsa_like = format!("3082{}", &SIGN_HEX[4..]);
    assert_eq!(
        problem(SignPublicKey::parse(&rsa_like).unwrap_err()),
        KeyProblem::WrongAlgorithm { found: None }
    );
    assert_eq!(
        problem(SignPublicKey::parse("hitl-X-sign-key").unwrap_err()),
        KeyProblem::UnrecognisedEncoding
    );
    assert_eq!(
        problem(SignPublicKey::parse("").unwrap_err()),
        KeyProblem::UnrecognisedEncoding
    );
    assert_eq!(
        problem(SignPublicKey::parse("QUJD=A").unwrap_err()),
        KeyProblem::BadBase64
    );
    assert_eq!(
        problem(
            SignPublicKey::parse("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err()
        ),
        KeyProblem::BadPem
    );
    let message = SignPublicKey::parse(ENC_HEX).unwrap_err().to_string();
    assert_eq!(
        message,
        "invalid Ed25519 public key: wrong algorithm prefix: this is an X25519 key"
    );
}

#[test]
fn small_order_signing_keys_are_refused() {
    // The identity point (y = 1) has order 1.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        problem(SignPublicKey::from_raw(identity).unwrap_err()),
        KeyProblem::WeakKey
    );
}

#[test]
fn debug_never_shows_private_keys() {
    let keys = PartyKeys::generate();
    let seed_hex = hex::encode(*keys.sign.seed());
    let secret_hex = hex::encode(*keys.encrypt.secret_bytes());
    let shown = format!("{keys:?}");
    assert!(!shown.contains(&seed_hex));
    assert!(!shown.contains(&secret_hex));
    assert!(shown.contains(&keys.sign.public().to_hex()));
}

#[test]
fn signatures_verify_only_for_their_message() {
    let key = SigningKeyPair::generate();
    let signature = key.sign(b"hello");
    assert!(key.public().verify(b"hello", &signature));
    assert!(!key.public().verify(b"hellO", &signature));
    assert!(
        !SigningKeyPair::generate()
            .public()
            .verify(b"hello", &signature)
    );
}

#[test]
fn fingerprint_is_sha256_of_both_spkis() {
    let keys = PublicKeys::parse(SIGN_HEX, ENC_HEX).unwrap();
    let mut both = Vec::new();
    both.extend_from_slice(&hex::decode(SIGN_HEX).unwrap());
    both.extend_from_slice(&hex::decode(ENC_HEX).unwrap());
    let expected = hex::encode(Sha256::digest(&both));
    let fingerprint = keys.fingerprint();
    assert_eq!(fingerprint.to_string(), expected);
    let grouped = fingerprint.grouped();
    assert_eq!(grouped.len(), 64 + 15);
    assert_eq!(&grouped[..4], &expected[..4]);
    assert_eq!(Fingerprint::parse(&grouped).unwrap(), fingerprint);
    assert_eq!(
        Fingerprint::parse(&expected.to_uppercase()).unwrap(),
        fingerprint
    );
    assert!(Fingerprint::parse(&expected[..62]).is_none());
    // Order matters: encryption key first is another fingerprint.
    let mut swapped = Sha256::new();
    swapped.update(hex::decode(ENC_HEX).unwrap());
    swapped.update(hex::decode(SIGN_HEX).unwrap());
    assert_ne!(hex::encode(swapped.finalize()), expected);
}

#[test]
fn public_keys_serialize_as_wire_hex() {
    let keys = PublicKeys::parse(SIGN_HEX, ENC_HEX).unwrap();
    let json = serde_json::to_value(keys).unwrap();
    assert_eq!(json["signPublicKey"], SIGN_HEX);
    assert_eq!(json["encryptPublicKey"], ENC_HEX);
    let back: PublicKeys = serde_json::from_value(json).unwrap();
    assert_eq!(back, keys);
    let wrong = serde_json::json!({"signPublicKey": ENC_HEX, "encryptPublicKey": ENC_HEX});
    assert!(serde_json::from_value::<PublicKeys>(wrong).is_err());
}

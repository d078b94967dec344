//! The expert identity file: round trips, and every way a file must refuse to open.

use aes_gcm::KeyInit as _;
use serde_json::{Value, json};

use super::identity_file::{Secrets, seal};
use super::*;

/// Fewest iterations a reader accepts: keeps these tests quick.
const FAST: u32 = IDENTITY_FILE_MIN_ITERATIONS;
const PASSPHRASE: &str = "correct horse battery staple";
const OPAQUE: &str = "the identity file could not be opened: wrong passphrase or damaged file";

fn vector_keys() -> PartyKeys {
    PartyKeys {
        sign: SigningKeyPair::from_seed(&[3; 32]),
        encrypt: EncryptionKeyPair::from_secret_bytes(&[4; 32]),
    }
}

fn v1_secrets(keys: &PartyKeys) -> Secrets {
    Secrets {
        sign_private_key: format!(
            "302e020100300506032b657004220420{}",
            hex::encode(*keys.sign.seed())
        ),
        encrypt_private_key: format!(
            "302e020100300506032b656e04220420{}",
            hex::encode(*keys.encrypt.secret_bytes())
        ),
    }
}

fn fast_file(keys: &PartyKeys) -> String {
    seal(
        &keys.public(),
        &v1_secrets(keys),
        PASSPHRASE,
        FAST,
        [9; 16],
        [8; 12],
    )
    .unwrap()
}

fn refused(text: &str) {
    let err = PartyKeys::from_identity_file(text, PASSPHRASE).unwrap_err();
    assert!(matches!(err, Error::IdentityFile), "{err:?}");
    assert_eq!(err.to_string(), OPAQUE);
}

/// One alteration of a parsed identity file.
type Edit<'a> = Box<dyn FnOnce(&mut Value) + 'a>;

fn edited(text: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(text).unwrap();
    edit(&mut value);
    value.to_string()
}

#[test]
fn round_trip_with_the_default_iterations() {
    let keys = PartyKeys::generate();
    let text = keys.to_identity_file(PASSPHRASE).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["format"], "heysummon-expert-identity");
    assert_eq!(file["version"], 1);
    assert_eq!(file["kdf"]["name"], "PBKDF2-HMAC-SHA256");
    assert_eq!(file["kdf"]["iterations"], 600_000);
    assert_eq!(file["cipher"]["name"], "AES-256-GCM");
    assert_eq!(file["fingerprint"], keys.public().fingerprint().to_string());
    assert_eq!(file["signPublicKey"], keys.public().sign.to_hex());
    assert_eq!(file["encryptPublicKey"], keys.public().encrypt.to_hex());
    let salt = BASE64
        .decode(file["kdf"]["salt"].as_str().unwrap())
        .unwrap();
    let iv = BASE64
        .decode(file["cipher"]["iv"].as_str().unwrap())
        .unwrap();
    let sealed = BASE64.decode(file["ciphertext"].as_str().unwrap()).unwrap();
    assert_eq!((salt.len(), iv.len()), (16, 12));
    // {"signPrivateKey":"<96 hex>","encryptPrivateKey":"<96 hex>"} and the tag.
    assert_eq!(sealed.len(), 19 + 96 + 23 + 96 + 2 + 16);

    let opened = PartyKeys::from_identity_file(&text, PASSPHRASE).unwrap();
    assert_eq!(opened.public(), keys.public());
    assert_eq!(*opened.sign.seed(), *keys.sign.seed());
    assert_eq!(*opened.encrypt.secret_bytes(), *keys.encrypt.secret_bytes());

    // Fresh salt and iv every time.
    assert_ne!(keys.to_identity_file(PASSPHRASE).unwrap(), text);
}

#[test]
fn the_plaintext_is_the_documented_json() {
    // A file made by hand from the documented steps opens.
    let keys = vector_keys();
    let public = keys.public();
    let fingerprint = public.fingerprint().to_string();
    let plaintext = format!(
        r#"{{"signPrivateKey":"302e020100300506032b657004220420{}","encryptPrivateKey":"302e020100300506032b656e04220420{}"}}"#,
        "03".repeat(32),
        "04".repeat(32)
    );
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSPHRASE.as_bytes(), &[1; 16], FAST, &mut key);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let aad = format!("heysummon-expert-identity/v1:{fingerprint}");
    let sealed = aes_gcm::aead::Aead::encrypt(
        &cipher,
        aes_gcm::Nonce::from_slice(&[2; 12]),
        aes_gcm::aead::Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        },
    )
    .unwrap();
    let text = json!({
        "format": "heysummon-expert-identity",
        "version": 1,
        "fingerprint": fingerprint,
        "signPublicKey": public.sign.to_hex(),
        "encryptPublicKey": public.encrypt.to_hex(),
        "kdf": {"name": "PBKDF2-HMAC-SHA256", "iterations": FAST, "salt": BASE64.encode([1; 16])},
        "cipher": {"name": "AES-256-GCM", "iv": BASE64.encode([2; 12])},
        "ciphertext": BASE64.encode(sealed),
    })
    .to_string();
    let opened = PartyKeys::from_identity_file(&text, PASSPHRASE).unwrap();
    assert_eq!(opened.public(), public);
    // And what seal writes is that same text, up to formatting.
    let ours = seal(
        &public,
        &v1_secrets(&keys),
        PASSPHRASE,
        FAST,
        [1; 16],
        [2; 12],
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&ours).unwrap(),
        serde_json::from_str::<Value>(&text).unwrap()
    );
}

#[test]
fn wrong_passphrase_is_the_opaque_error() {
    let text = fast_file(&vector_keys());
    for wrong in [
        "",
        "Correct horse battery staple",
        "correct horse battery staple ",
    ] {
        let err = PartyKeys::from_identity_file(&text, wrong).unwrap_err();
        assert!(matches!(err, Error::IdentityFile));
    }
}

#[test]
fn every_altered_field_is_refused() {
    let text = fast_file(&vector_keys());
    let other = PartyKeys::generate().public();
    let flip = |b64: &str| {
        let mut bytes = BASE64.decode(b64).unwrap();
        bytes[0] ^= 1;
        BASE64.encode(bytes)
    };
    let file: Value = serde_json::from_str(&text).unwrap();
    let s = |pointer: &str| file.pointer(pointer).unwrap().as_str().unwrap().to_owned();
    let edits: Vec<Edit<'_>> = vec![
        Box::new(|v| v["format"] = json!("heysummon-expert-identity-x")),
        Box::new(|v| v["version"] = json!(2)),
        Box::new(|v| v["version"] = json!("1")),
        Box::new(|v| v["fingerprint"] = json!(other.fingerprint().to_string())),
        Box::new(|v| v["fingerprint"] = json!(s("/fingerprint").to_uppercase())),
        Box::new(|v| v["signPublicKey"] = json!(other.sign.to_hex())),
        Box::new(|v| v["encryptPublicKey"] = json!(other.encrypt.to_hex())),
        Box::new(|v| v["signPublicKey"] = json!(s("/signPublicKey").to_uppercase())),
        // Consistent public keys and fingerprint of someone else: the tag binds the fingerprint.
        Box::new(move |v| {
            v["signPublicKey"] = json!(other.sign.to_hex());
            v["encryptPublicKey"] = json!(other.encrypt.to_hex());
            v["fingerprint"] = json!(other.fingerprint().to_string());
        }),
        Box::new(|v| v["kdf"]["name"] = json!("PBKDF2-HMAC-SHA512")),
        Box::new(|v| v["kdf"]["iterations"] = json!(FAST + 1)),
        Box::new(|v| v["kdf"]["salt"] = json!(flip(&s("/kdf/salt")))),
        Box::new(|v| v["kdf"]["salt"] = json!(BASE64.encode([9; 15]))),
        Box::new(|v| v["cipher"]["name"] = json!("AES-128-GCM")),
        Box::new(|v| v["cipher"]["iv"] = json!(flip(&s("/cipher/iv")))),
        Box::new(|v| v["cipher"]["iv"] = json!(BASE64.encode([8; 16]))),
        Box::new(|v| v["ciphertext"] = json!(flip(&s("/ciphertext")))),
        Box::new(|v| {
            let mut bytes = BASE64.decode(s("/ciphertext")).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x80;
            v["ciphertext"] = json!(BASE64.encode(bytes));
        }),
        Box::new(|v| v["ciphertext"] = json!(BASE64.encode([0; 15]))),
        Box::new(|v| v["ciphertext"] = json!("not base64!")),
        Box::new(|v| v["extra"] = json!(true)),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("fingerprint");
        }),
    ];
    for edit in edits {
        refused(&edited(&text, edit));
    }
    for junk in ["", "{}", "[]", "null", "not json", &text[..text.len() / 2]] {
        refused(junk);
    }
    // The untouched file still opens.
    assert!(PartyKeys::from_identity_file(&text, PASSPHRASE).is_ok());
}

#[test]
fn iterations_outside_the_accepted_range_are_refused() {
    let keys = vector_keys();
    let secrets = v1_secrets(&keys);
    for iterations in [1, 1_000, FAST - 1] {
        let text = seal(
            &keys.public(),
            &secrets,
            PASSPHRASE,
            iterations,
            [1; 16],
            [2; 12],
        );
        refused(&text.unwrap());
    }
    let beyond = edited(&fast_file(&keys), |v| {
        v["kdf"]["iterations"] = json!(IDENTITY_FILE_MAX_ITERATIONS + 1);
    });
    refused(&beyond);
    let huge = edited(&fast_file(&keys), |v| {
        v["kdf"]["iterations"] = json!(1u64 << 40)
    });
    refused(&huge);
}

#[test]
fn pkcs8_v2_with_public_keys_is_accepted() {
    let keys = vector_keys();
    let public = keys.public();
    let v2 = |algorithm_byte: &str, key: &[u8; 32], public: [u8; 32]| {
        format!(
            "3051020101300506032b65{algorithm_byte}04220420{}812100{}",
            hex::encode(key),
            hex::encode(public)
        )
    };
    let secrets = Secrets {
        sign_private_key: v2("70", &keys.sign.seed(), public.sign.raw()),
        encrypt_private_key: v2("6e", &keys.encrypt.secret_bytes(), public.encrypt.raw()),
    };
    let text = seal(&public, &secrets, PASSPHRASE, FAST, [1; 16], [2; 12]).unwrap();
    assert_eq!(
        PartyKeys::from_identity_file(&text, PASSPHRASE)
            .unwrap()
            .public(),
        public
    );

    // A v2 structure whose embedded public key is not the private key's is refused.
    let lying = Secrets {
        sign_private_key: v2("70", &keys.sign.seed(), [0x55; 32]),
        encrypt_private_key: v2("6e", &keys.encrypt.secret_bytes(), public.encrypt.raw()),
    };
    refused(&seal(&public, &lying, PASSPHRASE, FAST, [1; 16], [2; 12]).unwrap());
}

#[test]
fn private_keys_must_match_the_public_keys() {
    let keys = vector_keys();
    let stranger = PartyKeys::generate();
    // Encrypted correctly, but the private keys are someone else's.
    let text = seal(
        &keys.public(),
        &v1_secrets(&stranger),
        PASSPHRASE,
        FAST,
        [1; 16],
        [2; 12],
    )
    .unwrap();
    refused(&text);
    // Keys swapped between the two members.
    let swapped = v1_secrets(&keys);
    let swapped = Secrets {
        sign_private_key: swapped.encrypt_private_key.clone(),
        encrypt_private_key: swapped.sign_private_key.clone(),
    };
    refused(&seal(&keys.public(), &swapped, PASSPHRASE, FAST, [1; 16], [2; 12]).unwrap());
}

#[test]
fn an_empty_passphrase_is_not_written() {
    let err = vector_keys().to_identity_file("").unwrap_err();
    assert!(matches!(err, Error::EmptyPassphrase));
}

#[test]
fn nothing_secret_is_shown() {
    let keys = vector_keys();
    let text = fast_file(&keys);
    let opened = PartyKeys::from_identity_file(&text, PASSPHRASE).unwrap();
    let shown = format!("{opened:?} {:?}", opened.sign);
    for secret in ["03".repeat(32), "04".repeat(32), "3, 3, 3".to_owned()] {
        assert!(!shown.contains(&secret), "{shown}");
        assert!(!text.contains(&secret));
    }
    let err = PartyKeys::from_identity_file(&text, "wrong").unwrap_err();
    assert_eq!(format!("{err:?}"), "IdentityFile");
}

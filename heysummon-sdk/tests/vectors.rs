//! Known-answer tests against `data/e2e-messages.json`, made with Node's crypto (an independent
//! implementation; a copy of `shared/vectors/e2e-messages.json`). Every implementation of
//! PROTOCOL part C must pass them in both directions.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use heysummon_sdk::envelope::{Channel, derive_message_key};
use heysummon_sdk::keys::{
    EncryptPublicKey, EncryptionKeyPair, PartyKeys, PublicKeys, SignPublicKey, SigningKeyPair,
};
use heysummon_sdk::wire::{EncryptedPayload, MessageId};
use heysummon_sdk::{Error, keys::Fingerprint};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    parties: Parties,
    shared_secret_hex: String,
    messages: Vec<Vector>,
    must_fail: Vec<Vector>,
}

#[derive(Deserialize)]
struct Parties {
    consumer: Party,
    expert: Party,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Party {
    sign_seed_hex: String,
    encrypt_private_hex: String,
    sign_public_key: String,
    encrypt_public_key: String,
    sign_public_key_pem: String,
    encrypt_public_key_pem: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    from: String,
    message_id: String,
    plaintext: String,
    message_key_hex: String,
    ciphertext: String,
    iv: String,
    auth_tag: String,
    signature: String,
    #[serde(default)]
    reason: Option<String>,
}

impl Vector {
    fn payload(&self) -> EncryptedPayload {
        EncryptedPayload {
            ciphertext: self.ciphertext.clone(),
            iv: self.iv.clone(),
            auth_tag: self.auth_tag.clone(),
            signature: self.signature.clone(),
            message_id: MessageId::new(&self.message_id),
        }
    }

    fn iv_bytes(&self) -> [u8; 12] {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.iv)
            .unwrap()
            .try_into()
            .unwrap()
    }
}

fn load() -> Vectors {
    let text = include_str!("data/e2e-messages.json");
    serde_json::from_str(text).unwrap()
}

fn bytes32(hex_text: &str) -> [u8; 32] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn party_keys(party: &Party) -> PartyKeys {
    PartyKeys {
        sign: SigningKeyPair::from_seed(&bytes32(&party.sign_seed_hex)),
        encrypt: EncryptionKeyPair::from_secret_bytes(&bytes32(&party.encrypt_private_hex)),
    }
}

/// (channel of the sender towards the receiver, channel of the receiver towards the sender)
fn channels(vectors: &Vectors, from: &str) -> (Channel, Channel) {
    let consumer = party_keys(&vectors.parties.consumer);
    let expert = party_keys(&vectors.parties.expert);
    let (sender, receiver) = match from {
        "consumer" => (consumer, expert),
        "expert" => (expert, consumer),
        other => panic!("unknown sender {other}"),
    };
    (
        Channel::new(&sender, &receiver.public()).unwrap(),
        Channel::new(&receiver, &sender.public()).unwrap(),
    )
}

#[test]
fn private_keys_give_the_published_public_keys() {
    let vectors = load();
    for party in [&vectors.parties.consumer, &vectors.parties.expert] {
        let keys = party_keys(party).public();
        assert_eq!(keys.sign.to_hex(), party.sign_public_key);
        assert_eq!(keys.encrypt.to_hex(), party.encrypt_public_key);
        assert_eq!(keys.sign.to_pem(), party.sign_public_key_pem);
        assert_eq!(keys.encrypt.to_pem(), party.encrypt_public_key_pem);
    }
}

#[test]
fn pem_forms_parse_to_the_same_keys_as_hex() {
    let vectors = load();
    for party in [&vectors.parties.consumer, &vectors.parties.expert] {
        assert_eq!(
            SignPublicKey::parse(&party.sign_public_key_pem).unwrap(),
            SignPublicKey::parse(&party.sign_public_key).unwrap()
        );
        assert_eq!(
            EncryptPublicKey::parse(&party.encrypt_public_key_pem).unwrap(),
            EncryptPublicKey::parse(&party.encrypt_public_key).unwrap()
        );
        let from_pem =
            PublicKeys::parse(&party.sign_public_key_pem, &party.encrypt_public_key_pem).unwrap();
        let from_hex =
            PublicKeys::parse(&party.sign_public_key, &party.encrypt_public_key).unwrap();
        assert_eq!(from_pem.fingerprint(), from_hex.fingerprint());
    }
}

#[test]
fn shared_secret_matches_in_both_directions() {
    let vectors = load();
    let consumer = party_keys(&vectors.parties.consumer);
    let expert = party_keys(&vectors.parties.expert);
    let one = consumer.encrypt.agree(&expert.encrypt.public()).unwrap();
    let other = expert.encrypt.agree(&consumer.encrypt.public()).unwrap();
    assert_eq!(hex::encode(*one), vectors.shared_secret_hex);
    assert_eq!(*one, *other);
}

#[test]
fn message_keys_match() {
    let vectors = load();
    let shared = bytes32(&vectors.shared_secret_hex);
    for vector in vectors.messages.iter().chain(&vectors.must_fail) {
        let key = derive_message_key(&shared, &MessageId::new(&vector.message_id)).unwrap();
        assert_eq!(
            hex::encode(*key),
            vector.message_key_hex,
            "{}",
            vector.message_id
        );
    }
}

#[test]
fn every_vector_opens_to_its_plaintext() {
    let vectors = load();
    assert!(vectors.messages.len() >= 5);
    for vector in &vectors.messages {
        let (_, receiver) = channels(&vectors, &vector.from);
        let opened = receiver.open(&vector.payload()).unwrap();
        assert_eq!(opened, vector.plaintext, "{}", vector.message_id);
    }
}

#[test]
fn sealing_reproduces_every_vector_byte_for_byte() {
    let vectors = load();
    for vector in &vectors.messages {
        let (sender, _) = channels(&vectors, &vector.from);
        let sealed = sender
            .seal_with_iv(
                &vector.plaintext,
                MessageId::new(&vector.message_id),
                vector.iv_bytes(),
            )
            .unwrap();
        assert_eq!(sealed, vector.payload(), "{}", vector.message_id);
    }
}

#[test]
fn every_must_fail_case_fails_opaquely() {
    let vectors = load();
    assert!(!vectors.must_fail.is_empty());
    for vector in &vectors.must_fail {
        let (_, receiver) = channels(&vectors, &vector.from);
        let result = receiver.open(&vector.payload());
        assert!(
            matches!(result, Err(Error::Crypto)),
            "{:?} opened",
            vector.reason
        );
    }
}

#[test]
fn vectors_do_not_open_with_the_wrong_sender_or_receiver() {
    let vectors = load();
    let stranger = PartyKeys::generate();
    for vector in &vectors.messages {
        let (sender_channel, _) = channels(&vectors, &vector.from);
        // The sender itself holds the same shared secret, but expects the peer's signature.
        assert!(matches!(
            sender_channel.open(&vector.payload()),
            Err(Error::Crypto)
        ));
        // A third party with its own keys can neither verify nor derive.
        let consumer = party_keys(&vectors.parties.consumer);
        let expert = party_keys(&vectors.parties.expert);
        let sender_public = if vector.from == "consumer" {
            consumer.public()
        } else {
            expert.public()
        };
        let outsider = Channel::new(&stranger, &sender_public).unwrap();
        assert!(matches!(
            outsider.open(&vector.payload()),
            Err(Error::Crypto)
        ));
    }
}

#[test]
fn expert_fingerprint_of_the_vector_keys() {
    let vectors = load();
    let expert = &vectors.parties.expert;
    let keys = PublicKeys::parse(&expert.sign_public_key, &expert.encrypt_public_key).unwrap();
    let mut both = hex::decode(&expert.sign_public_key).unwrap();
    both.extend(hex::decode(&expert.encrypt_public_key).unwrap());
    use sha2::Digest as _;
    let expected = hex::encode(sha2::Sha256::digest(&both));
    assert_eq!(keys.fingerprint(), Fingerprint::parse(&expected).unwrap());
}

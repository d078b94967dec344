//! Property tests of the message envelope: round trips for arbitrary text and message ids, and
//! failure for any single-bit change or the wrong keys.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_sdk::Error;
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::PartyKeys;
use heysummon_sdk::wire::{EncryptedPayload, MessageId};
use proptest::prelude::*;

fn channels() -> (Channel, Channel, PartyKeys, PartyKeys) {
    let sender = PartyKeys::generate();
    let receiver = PartyKeys::generate();
    (
        Channel::new(&sender, &receiver.public()).unwrap(),
        Channel::new(&receiver, &sender.public()).unwrap(),
        sender,
        receiver,
    )
}

fn flip_base64(text: &str, bit: usize) -> String {
    let mut bytes = BASE64.decode(text).unwrap();
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
    BASE64.encode(bytes)
}

#[derive(Clone, Copy, Debug)]
enum Field {
    Ciphertext,
    Iv,
    AuthTag,
    Signature,
    MessageId,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(plaintext in any::<String>(), message_id in any::<String>()) {
        let (to_receiver, at_receiver, _, _) = channels();
        let sealed = to_receiver.seal(&plaintext, Some(MessageId::new(message_id.clone()))).unwrap();
        prop_assert_eq!(sealed.message_id.as_str(), message_id.as_str());
        prop_assert_eq!(at_receiver.open(&sealed).unwrap(), plaintext);
    }

    #[test]
    fn any_single_bit_change_fails(
        plaintext in "\\PC{1,200}",
        field in prop_oneof![
            Just(Field::Ciphertext),
            Just(Field::Iv),
            Just(Field::AuthTag),
            Just(Field::Signature),
            Just(Field::MessageId),
        ],
        bit in any::<usize>(),
    ) {
        let (to_receiver, at_receiver, _, _) = channels();
        let sealed = to_receiver.seal(&plaintext, None).unwrap();
        let mut changed = sealed.clone();
        match field {
            Field::Ciphertext => changed.ciphertext = flip_base64(&sealed.ciphertext, bit),
            Field::Iv => changed.iv = flip_base64(&sealed.iv, bit),
            Field::AuthTag => changed.auth_tag = flip_base64(&sealed.auth_tag, bit),
            Field::Signature => changed.signature = flip_base64(&sealed.signature, bit),
            Field::MessageId => {
                let mut bytes = sealed.message_id.as_str().as_bytes().to_vec();
                let bit = bit % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
                let id = String::from_utf8(bytes);
                prop_assume!(id.is_ok());
                changed.message_id = MessageId::new(id.unwrap_or_default());
            }
        }
        prop_assert_ne!(&changed, &sealed);
        prop_assert!(matches!(at_receiver.open(&changed), Err(Error::Crypto)));
    }

    #[test]
    fn wrong_keys_fail(plaintext in "\\PC{0,64}") {
        let (to_receiver, _, sender, receiver) = channels();
        let sealed = to_receiver.seal(&plaintext, None).unwrap();
        let impostor = PartyKeys::generate();
        // The receiver expecting another sender (wrong sender signing and agreement key).
        let expecting_impostor = Channel::new(&receiver, &impostor.public()).unwrap();
        prop_assert!(matches!(expecting_impostor.open(&sealed), Err(Error::Crypto)));
        // Right agreement key, wrong signing key.
        let mut mixed = sender.public();
        mixed.sign = impostor.sign.public();
        let wrong_signer = Channel::new(&receiver, &mixed).unwrap();
        prop_assert!(matches!(wrong_signer.open(&sealed), Err(Error::Crypto)));
        // Right signing key, wrong receiver private key.
        let other_receiver = PartyKeys { sign: receiver.sign.clone(), encrypt: impostor.encrypt.clone() };
        let wrong_receiver = Channel::new(&other_receiver, &sender.public()).unwrap();
        prop_assert!(matches!(wrong_receiver.open(&sealed), Err(Error::Crypto)));
    }
}

#[test]
fn one_mebibyte_round_trips() {
    let (to_receiver, at_receiver, _, _) = channels();
    let ascii = "a".repeat(1 << 20);
    let sealed = to_receiver.seal(&ascii, None).unwrap();
    assert_eq!(at_receiver.open(&sealed).unwrap(), ascii);

    let mixed: String = "Déjà vu? 🚀 — 日本語 "
        .chars()
        .cycle()
        .take(600_000)
        .collect();
    assert!(mixed.len() > 1 << 20);
    let sealed = to_receiver
        .seal(&mixed, Some(MessageId::new("big")))
        .unwrap();
    assert_eq!(at_receiver.open(&sealed).unwrap(), mixed);
}

#[test]
fn empty_plaintext_and_message_id_round_trip() {
    let (to_receiver, at_receiver, _, _) = channels();
    let sealed = to_receiver.seal("", Some(MessageId::new(""))).unwrap();
    assert_eq!(sealed.ciphertext, "");
    assert_eq!(at_receiver.open(&sealed).unwrap(), "");
}

#[test]
fn swapping_members_between_messages_fails() {
    let (to_receiver, at_receiver, _, _) = channels();
    let one = to_receiver.seal("first", None).unwrap();
    let two = to_receiver.seal("second", None).unwrap();
    let spliced = EncryptedPayload {
        signature: two.signature.clone(),
        ..one.clone()
    };
    assert!(matches!(at_receiver.open(&spliced), Err(Error::Crypto)));
    let respliced = EncryptedPayload {
        message_id: two.message_id.clone(),
        ..one
    };
    assert!(matches!(at_receiver.open(&respliced), Err(Error::Crypto)));
}

//! Fuzz target `envelope`: opening an end-to-end envelope (`heysummon_sdk::envelope`) between the
//! two fixed parties of the test vectors, with arbitrary `messageId`, `ciphertext`, `iv`,
//! `authTag` and `signature`. Opening must never panic, and must succeed only on a genuine
//! envelope: whatever opens must be exactly what the sender's `seal_with_iv` writes for that
//! plaintext, message id and iv (Ed25519 signatures are deterministic and the base64 engine is
//! canonical, so a forgery or a malleated encoding cannot pass this check).
//!
//! Input layout: the first byte picks the direction (even: the expert opens a consumer message;
//! odd: the consumer opens an expert message); the rest is five fields separated by `\n`, in the
//! order `messageId`, `ciphertext`, `iv`, `authTag`, `signature`.
//!
//! Shared by `fuzz/fuzz_targets/envelope.rs` and `tests/fuzz_corpus/main.rs`.

use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::{EncryptionKeyPair, PartyKeys, SigningKeyPair};
use heysummon_sdk::wire::{EncryptedPayload, MessageId};

/// The parties of `heysummon-sdk/tests/data/e2e-messages.json`.
fn party(sign_seed: u8, encrypt_secret: u8) -> PartyKeys {
    PartyKeys {
        sign: SigningKeyPair::from_seed(&[sign_seed; 32]),
        encrypt: EncryptionKeyPair::from_secret_bytes(&[encrypt_secret; 32]),
    }
}

/// (sender → receiver channel, receiver ← sender channel) for a direction.
fn channels(consumer_sends: bool) -> (Channel, Channel) {
    let consumer = party(1, 2);
    let expert = party(3, 4);
    let (sender, receiver) = if consumer_sends {
        (consumer, expert)
    } else {
        (expert, consumer)
    };
    let seal = Channel::new(&sender, &receiver.public()).expect("fixed keys are valid");
    let open = Channel::new(&receiver, &sender.public()).expect("fixed keys are valid");
    (seal, open)
}

/// One fuzz input.
pub(crate) fn run(data: &[u8]) {
    let Some((&direction, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.splitn(5, '\n');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let payload = EncryptedPayload {
        message_id: MessageId::new(next()),
        ciphertext: next(),
        iv: next(),
        auth_tag: next(),
        signature: next(),
    };
    let (seal, open) = channels(direction % 2 == 0);
    let Ok(plaintext) = open.open(&payload) else {
        return;
    };
    // It opened: it must be the sender's own envelope, byte for byte.
    let iv = base64_12(&payload.iv);
    let resealed = seal
        .seal_with_iv(&plaintext, payload.message_id.clone(), iv)
        .expect("sealing cannot fail");
    assert!(resealed == payload, "a non-genuine envelope opened");
}

fn base64_12(text: &str) -> [u8; 12] {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("an opened envelope has a base64 iv");
    bytes
        .try_into()
        .expect("an opened envelope has a 12-byte iv")
}

/// Genuine envelopes in both directions (the plaintexts, message ids and ivs of the test
/// vectors), and near misses.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let cases: [(bool, &str, &str, [u8; 12]); 4] = [
        (
            true,
            "Hello expert",
            "00000000-0000-4000-8000-000000000000",
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        ),
        (
            false,
            "Hello consumer, here is your answer.",
            "00000000-0000-4000-8000-000000000001",
            [7; 12],
        ),
        (true, "", "m-1", [0; 12]),
        (
            false,
            "Ünïcödé ✓ — emoji 🚀 and a\nnewline",
            "msg-with-unicode-ü",
            [255; 12],
        ),
    ];
    for (consumer_sends, plaintext, id, iv) in cases {
        let (seal, _) = channels(consumer_sends);
        let sealed = seal
            .seal_with_iv(plaintext, MessageId::new(id), iv)
            .expect("sealing cannot fail");
        let line = format!(
            "{}\n{}\n{}\n{}\n{}",
            sealed.message_id.as_str(),
            sealed.ciphertext,
            sealed.iv,
            sealed.auth_tag,
            sealed.signature
        );
        let direction = if consumer_sends { 0u8 } else { 1u8 };
        seeds.push([&[direction][..], line.as_bytes()].concat());
        // The same envelope offered in the wrong direction: must fail.
        seeds.push([&[direction ^ 1][..], line.as_bytes()].concat());
    }
    seeds
}

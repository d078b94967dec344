//! Criterion benchmarks of the protocol cryptography: key generation, sealing and opening a
//! 1 KiB message, signing and verifying a canonical request — each next to the raw crate
//! operations it is made of, so the cost of our wrappers is visible.
//!
//! Run: `cargo bench --bench crypto` (figures in BENCHMARKS.md).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use heysummon_sdk::envelope::Channel;
use heysummon_sdk::keys::PartyKeys;
use heysummon_sdk::signing::{
    MemoryNonceStore, Nonce, RequestParts, RequestSigner, VerifyWindow, canonical_text, verify,
};
use heysummon_sdk::wire::MessageId;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::hint::black_box;

const KIB: usize = 1024;

fn keygen(c: &mut Criterion) {
    let mut group = c.benchmark_group("keygen");
    group.bench_function("party_keys (Ed25519 + X25519)", |b| {
        b.iter(|| black_box(PartyKeys::generate()))
    });
    group.bench_function("raw ed25519 + x25519 generate", |b| {
        b.iter(|| {
            let sign = SigningKey::generate(&mut OsRng);
            let secret = x25519_dalek::StaticSecret::random_from_rng(OsRng);
            let public = x25519_dalek::PublicKey::from(&secret);
            black_box((sign.verifying_key(), public))
        })
    });
    group.finish();
}

/// The raw operations of sealing, without our types: DH, HKDF, AES-GCM, Ed25519, base64.
fn raw_seal(
    sign: &SigningKey,
    secret: &x25519_dalek::StaticSecret,
    peer: &x25519_dalek::PublicKey,
    plaintext: &[u8],
) -> [String; 4] {
    let shared = secret.diffie_hellman(peer);
    let hkdf = hkdf::Hkdf::<Sha256>::new(
        Some(b"00000000-0000-4000-8000-000000000000"),
        shared.as_bytes(),
    );
    let mut key = [0u8; 32];
    hkdf.expand(b"heysummon-msg", &mut key).unwrap();
    let mut iv = [0u8; 12];
    OsRng.fill_bytes(&mut iv);
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&iv), b"", &mut buffer)
        .unwrap();
    let signature = sign.sign(&buffer);
    let b64 = base64::engine::general_purpose::STANDARD;
    [
        b64.encode(&buffer),
        b64.encode(iv),
        b64.encode(tag),
        b64.encode(signature.to_bytes()),
    ]
}

fn envelope(c: &mut Criterion) {
    let sender = PartyKeys::generate();
    let receiver = PartyKeys::generate();
    let plaintext = "x".repeat(KIB);
    let message_id = MessageId::new("00000000-0000-4000-8000-000000000000");

    let mut group = c.benchmark_group("envelope 1 KiB");
    // What a one-shot seal or open costs: the channel (X25519 agreement) is part of it.
    group.bench_function("seal (agreement + seal)", |b| {
        b.iter(|| {
            let channel = Channel::new(&sender, &receiver.public()).unwrap();
            black_box(channel.seal(&plaintext, Some(message_id.clone())).unwrap())
        })
    });
    let sealed = Channel::new(&sender, &receiver.public())
        .unwrap()
        .seal(&plaintext, Some(message_id.clone()))
        .unwrap();
    group.bench_function("open (agreement + verify + decrypt)", |b| {
        b.iter(|| {
            let channel = Channel::new(&receiver, &sender.public()).unwrap();
            black_box(channel.open(&sealed).unwrap())
        })
    });
    // On an established channel the agreement is already done.
    let to_receiver = Channel::new(&sender, &receiver.public()).unwrap();
    let at_receiver = Channel::new(&receiver, &sender.public()).unwrap();
    group.bench_function("seal on a channel", |b| {
        b.iter(|| {
            black_box(
                to_receiver
                    .seal(&plaintext, Some(message_id.clone()))
                    .unwrap(),
            )
        })
    });
    group.bench_function("open on a channel", |b| {
        b.iter(|| black_box(at_receiver.open(&sealed).unwrap()))
    });

    // The raw crate operations of a one-shot seal and open.
    let sign = SigningKey::from_bytes(&sender.sign.seed());
    let secret = x25519_dalek::StaticSecret::from(*sender.encrypt.secret_bytes());
    let peer = x25519_dalek::PublicKey::from(receiver.encrypt.public().raw());
    group.bench_function(
        "raw seal (x25519 + hkdf + aes-gcm + ed25519 + base64)",
        |b| b.iter(|| black_box(raw_seal(&sign, &secret, &peer, plaintext.as_bytes()))),
    );
    let receiver_secret = x25519_dalek::StaticSecret::from(*receiver.encrypt.secret_bytes());
    let sender_public = x25519_dalek::PublicKey::from(sender.encrypt.public().raw());
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&sender.sign.public().raw()).unwrap();
    group.bench_function(
        "raw open (base64 + ed25519 + x25519 + hkdf + aes-gcm)",
        |b| {
            b.iter(|| {
                let b64 = base64::engine::general_purpose::STANDARD;
                let mut buffer = b64.decode(&sealed.ciphertext).unwrap();
                let iv = b64.decode(&sealed.iv).unwrap();
                let tag = b64.decode(&sealed.auth_tag).unwrap();
                let signature: [u8; 64] =
                    b64.decode(&sealed.signature).unwrap().try_into().unwrap();
                verifying
                    .verify_strict(&buffer, &ed25519_dalek::Signature::from_bytes(&signature))
                    .unwrap();
                let shared = receiver_secret.diffie_hellman(&sender_public);
                let hkdf = hkdf::Hkdf::<Sha256>::new(
                    Some(sealed.message_id.as_str().as_bytes()),
                    shared.as_bytes(),
                );
                let mut key = [0u8; 32];
                hkdf.expand(b"heysummon-msg", &mut key).unwrap();
                Aes256Gcm::new_from_slice(&key)
                    .unwrap()
                    .decrypt_in_place_detached(
                        aes_gcm::Nonce::from_slice(&iv),
                        b"",
                        &mut buffer,
                        aes_gcm::Tag::from_slice(&tag),
                    )
                    .unwrap();
                black_box(String::from_utf8(buffer).unwrap())
            })
        },
    );
    group.bench_function("raw x25519 agreement", |b| {
        b.iter(|| black_box(secret.diffie_hellman(&peer)))
    });
    group.finish();
}

fn request_signing(c: &mut Criterion) {
    let signer = RequestSigner::new(PartyKeys::generate().sign);
    let body = vec![b'x'; KIB];
    let parts = RequestParts {
        method: "POST",
        path_and_query: "/api/v1/help",
        body: &body,
        api_key: "hs_cli_0123456789abcdef0123456789abcdef",
    };
    let key = signer.public_key();
    let window = VerifyWindow::default();
    let now = 1_777_147_005_123;

    let mut group = c.benchmark_group("request signing (1 KiB body)");
    group.bench_function("sign", |b| {
        b.iter(|| black_box(signer.sign_at(&parts, now, Nonce::random())))
    });
    let headers = signer.sign_at(&parts, now, Nonce::random());
    group.bench_function("verify (with nonce store)", |b| {
        b.iter_batched(
            MemoryNonceStore::new,
            |mut store| black_box(verify(&headers, &key, &parts, now, window, &mut store)),
            criterion::BatchSize::SmallInput,
        )
    });

    let raw = SigningKey::generate(&mut OsRng);
    let text = canonical_text(&parts, now, &Nonce::random());
    group.bench_function("raw sha256 x2 + ed25519 sign", |b| {
        b.iter(|| {
            let body_hash = hex::encode(Sha256::digest(&body));
            let key_hash = hex::encode(Sha256::digest(parts.api_key));
            black_box((body_hash, key_hash, raw.sign(text.as_bytes())))
        })
    });
    let signature = raw.sign(text.as_bytes());
    let raw_public = raw.verifying_key();
    group.bench_function("raw sha256 x2 + ed25519 verify_strict", |b| {
        b.iter(|| {
            let body_hash = hex::encode(Sha256::digest(&body));
            let key_hash = hex::encode(Sha256::digest(parts.api_key));
            black_box((
                body_hash,
                key_hash,
                raw_public.verify_strict(text.as_bytes(), &signature),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, keygen, envelope, request_signing);
criterion_main!(benches);

//! js/crypto.js against the vectors of PROTOCOL part C, and the identity file and key store in
//! the browser on their own.

use anyhow::Result;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use heysummon_sdk::keys::PartyKeys;
use heysummon_server::testing::TestApp;
use serde_json::{Value, json};

use crate::driver::Browser;
use crate::support::{assert_clean, open, open_in, run, vectors};
use crate::web;

const OPAQUE: &str = "message could not be authenticated";
const OPAQUE_FILE: &str = "the identity file could not be opened: wrong passphrase or damaged file";
const EXPERT_FINGERPRINT: &str = "b1de8361b8eec223d9021abfd87ecea0bc46c52dadfcc967af9159a7c915be3d";

/// Imports both vector parties, opens every message, seals each again with its message id and
/// iv, and tries the must-fail cases and more alterations.
const VECTORS_JS: &str = r#"
const v = arg;
const party = (p) => hs.importPrivateKeys({
  signPrivateKey: '302e020100300506032b657004220420' + p.signSeedHex,
  encryptPrivateKey: '302e020100300506032b656e04220420' + p.encryptPrivateHex,
}, p);
const consumer = await party(v.parties.consumer);
const expert = await party(v.parties.expert);
const pem = (p) => ({ signPublicKey: p.signPublicKeyPem, encryptPublicKey: p.encryptPublicKeyPem });
const consumerSide = await hs.createChannel(consumer, pem(v.parties.expert));
const expertSide = await hs.createChannel(expert, v.parties.consumer);
const attempt = async (channel, payload) => {
  try { await channel.open(payload); return 'opened'; } catch (e) { return e.message; }
};
const messages = [];
for (const m of v.messages) {
  const [sender, receiver] = m.from === 'consumer' ? [consumerSide, expertSide] : [expertSide, consumerSide];
  messages.push({
    opened: await receiver.open(m),
    resealed: await sender.seal(m.plaintext, { messageId: m.messageId, iv: m.iv }),
    // signed by the sender itself, not by its peer: must not open on the sender's side
    echo: await attempt(sender, m),
  });
}
const mustFail = [];
for (const m of v.mustFail) mustFail.push(await attempt(m.from === 'consumer' ? expertSide : consumerSide, m));

const base = v.messages[1];
const flip = (b64) => { const b = hs.base64ToBytes(b64); b[b.length - 1] ^= 1; return hs.bytesToBase64(b); };
const altered = [
  { ...base, ciphertext: flip(base.ciphertext) },
  { ...base, iv: flip(base.iv) },
  { ...base, authTag: flip(base.authTag) },
  { ...base, signature: flip(base.signature) },
  { ...base, messageId: `${base.messageId}-x` },
  { ...base, iv: hs.bytesToBase64(new Uint8Array(16)) },
  { ...base, authTag: base.authTag.replace(/=+$/, '') },
  { ...base, signature: ` ${base.signature}` },
  { ...base, ciphertext: base.ciphertext.slice(0, -1) },
  { ...base, messageId: undefined },
  { ...base, iv: null },
  null,
];
const alteredErrors = [];
for (const payload of altered) alteredErrors.push(await attempt(consumerSide, payload));
// the URL-safe alphabet is not standard base64
const first = v.messages[0];
alteredErrors.push(await attempt(expertSide, { ...first, ciphertext: first.ciphertext.replace('+', '-') }));
const stranger = await hs.generateIdentity();
const strangerSide = await hs.createChannel(stranger, v.parties.expert);
alteredErrors.push(await attempt(strangerSide, base));
try { await hs.openMessage(expert, { signPublicKey: 'junk', encryptPublicKey: 'junk' }, base); }
catch (e) { alteredErrors.push(e.message); }

const e = v.parties.expert;
const encodings = [
  hs.publicKeyHex(e.signPublicKeyPem, hs.ED25519) === e.signPublicKey,
  hs.publicKeyHex(e.encryptPublicKeyPem, hs.X25519) === e.encryptPublicKey,
  hs.publicKeyHex(hs.bytesToBase64(hs.hexToBytes(e.signPublicKey)), hs.ED25519) === e.signPublicKey,
  hs.publicKeyHex(e.signPublicKey.toUpperCase(), hs.ED25519) === e.signPublicKey,
  hs.publicKeyPem(e.signPublicKey, hs.ED25519) === e.signPublicKeyPem,
  expert.sign.publicSpkiHex === e.signPublicKey && expert.encrypt.publicSpkiHex === e.encryptPublicKey,
];
let crossAlgorithm;
try { hs.publicKeyHex(e.encryptPublicKey, hs.ED25519); crossAlgorithm = 'accepted'; } catch (err) { crossAlgorithm = err.message; }
return {
  fingerprint: await hs.fingerprint(e.signPublicKeyPem, e.encryptPublicKey),
  partyFingerprint: expert.fingerprint,
  grouped: hs.formatFingerprint(expert.fingerprint),
  extractable: [expert.sign.privateKey.extractable, expert.encrypt.privateKey.extractable],
  messages, mustFail, alteredErrors, encodings, crossAlgorithm,
};
"#;

#[tokio::test]
async fn vectors_open_and_seal_byte_exactly_in_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let web = web::dashboard(&app).await;
    let browser = Browser::launch().await?;
    let page = open(&browser, &web).await?;
    let vectors = vectors();
    let out = run(&page, &web, VECTORS_JS, vectors.clone()).await?;

    assert_eq!(out["fingerprint"], EXPERT_FINGERPRINT);
    assert_eq!(out["partyFingerprint"], EXPERT_FINGERPRINT);
    assert!(
        out["grouped"]
            .as_str()
            .unwrap()
            .starts_with("b1de 8361 b8ee c223 ")
    );
    assert_eq!(out["extractable"], json!([false, false]));
    let expected = vectors["messages"].as_array().unwrap();
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(messages.len(), expected.len());
    for (got, want) in messages.iter().zip(expected) {
        let id = &want["messageId"];
        assert_eq!(got["opened"], want["plaintext"], "opening {id}");
        for member in ["ciphertext", "iv", "authTag", "signature", "messageId"] {
            assert_eq!(got["resealed"][member], want[member], "{member} of {id}");
        }
        assert_eq!(got["echo"], OPAQUE, "{id} opened on its sender's side");
    }
    let must_fail = out["mustFail"].as_array().unwrap();
    assert_eq!(
        must_fail.len(),
        vectors["mustFail"].as_array().unwrap().len()
    );
    assert!(must_fail.iter().all(|e| e == OPAQUE), "{must_fail:?}");
    let altered = out["alteredErrors"].as_array().unwrap();
    assert_eq!(altered.len(), 15);
    assert!(altered.iter().all(|e| e == OPAQUE), "{altered:?}");
    assert_eq!(
        out["encodings"],
        json!([true, true, true, true, true, true])
    );
    assert_eq!(out["crossAlgorithm"], "invalid Ed25519 public key");
    assert_clean(&page).await
}

/// Makes an identity file, opens it again, and tries wrong passphrases and altered files.
const IDENTITY_JS: &str = r#"
const party = await hs.createIdentityFile(arg.passphrase);
const refuses = async (text, passphrase = arg.passphrase) => {
  try { await hs.importIdentityFile(text, passphrase); return 'opened'; } catch (e) { return e.message; }
};
const exportable = async (key) => {
  for (const format of ['pkcs8', 'jwk', 'raw']) {
    try { await crypto.subtle.exportKey(format, key); return true; } catch { /* refused */ }
  }
  return false;
};
const again = await hs.importIdentityFile(party.file, arg.passphrase);
const edits = [
  (f) => { f.format = 'something-else'; },
  (f) => { f.version = 2; },
  (f) => { f.fingerprint = f.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0')); },
  (f) => { f.signPublicKey = arg.otherSign; },
  (f) => { f.kdf.iterations = 99999; },
  (f) => { f.kdf.iterations = 10000001; },
  (f) => { f.kdf.iterations = '600000'; },
  (f) => { f.kdf.salt = f.kdf.salt.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')); },
  (f) => { f.cipher.iv = f.cipher.iv.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')); },
  (f) => { f.cipher.name = 'AES-128-GCM'; },
  (f) => { f.ciphertext = f.ciphertext.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')); },
  (f) => { f.extra = 1; },
];
const tampered = [];
for (const edit of edits) {
  const file = JSON.parse(party.file);
  edit(file);
  tampered.push(await refuses(JSON.stringify(file)));
}
tampered.push(await refuses('not json'), await refuses(party.file, 'wrong'), await refuses(party.file, ''));
let empty;
try { await hs.createIdentityFile(''); empty = 'made'; } catch (e) { empty = e.message; }

// The keys work: a message to a fresh peer and its answer.
const peer = await hs.generateIdentity();
const toPeer = await hs.sealMessage(again, hs.publicKeysOf(peer), 'ping');
const back = await hs.sealMessage(peer, hs.publicKeysOf(again), 'pong');
await ks.saveIdentity(again);
let extractableRefused;
const loose = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
try {
  await ks.saveIdentity({ ...again, sign: { privateKey: loose.privateKey, publicSpkiHex: again.sign.publicSpkiHex } });
  extractableRefused = false;
} catch { extractableRefused = true; }
window.__peer = peer;
return {
  file: party.file,
  fingerprint: party.fingerprint,
  sameAgain: again.fingerprint === party.fingerprint && again.file === party.file,
  extractable: [party.sign.privateKey.extractable, party.encrypt.privateKey.extractable,
    again.sign.privateKey.extractable, again.encrypt.privateKey.extractable],
  exportable: [await exportable(party.sign.privateKey), await exportable(party.encrypt.privateKey),
    await exportable(again.sign.privateKey), await exportable(again.encrypt.privateKey)],
  tampered, empty, extractableRefused,
  pong: await hs.openMessage(again, hs.publicKeysOf(peer), back),
  ping: await hs.openMessage(peer, hs.publicKeysOf(again), toPeer),
};
"#;

/// After a reload: the stored identity, still non-extractable, still opening messages.
const STORED_JS: &str = r#"
const stored = await ks.loadIdentity();
if (!stored) return null;
const peer = await hs.generateIdentity();
const sealed = await hs.sealMessage(peer, hs.publicKeysOf(stored), 'still here');
return {
  fingerprint: stored.fingerprint,
  file: stored.file,
  extractable: [stored.sign.privateKey.extractable, stored.encrypt.privateKey.extractable],
  opened: await hs.openMessage(stored, hs.publicKeysOf(peer), sealed),
};
"#;

#[tokio::test]
async fn identity_files_and_the_key_store_in_the_browser() -> Result<()> {
    let app = TestApp::spawn().await;
    let web = web::dashboard(&app).await;
    let browser = Browser::launch().await?;
    let page = open_in(&browser, &web, "first").await?;
    let passphrase = "blue-harbour-7 lantern";
    let other_sign = PartyKeys::generate().public().sign.to_hex();
    let arg = json!({ "passphrase": passphrase, "otherSign": other_sign });
    let out = run(&page, &web, IDENTITY_JS, arg).await?;

    assert_eq!(out["sameAgain"], true);
    assert_eq!(out["extractable"], json!([false, false, false, false]));
    assert_eq!(out["exportable"], json!([false, false, false, false]));
    let tampered = out["tampered"].as_array().unwrap();
    assert_eq!(tampered.len(), 15);
    assert!(tampered.iter().all(|e| e == OPAQUE_FILE), "{tampered:?}");
    assert_eq!(
        out["empty"],
        "an identity file needs a non-empty passphrase"
    );
    assert_eq!(out["extractableRefused"], true);
    assert_eq!(
        (&out["ping"], &out["pong"]),
        (&json!("ping"), &json!("pong"))
    );

    // The file is exactly the documented shape, and opens in Rust.
    let text = out["file"].as_str().unwrap();
    let file: Value = serde_json::from_str(text)?;
    let mut members: Vec<_> = file.as_object().unwrap().keys().cloned().collect();
    members.sort();
    let expected = [
        "cipher",
        "ciphertext",
        "encryptPublicKey",
        "fingerprint",
        "format",
        "kdf",
        "signPublicKey",
        "version",
    ];
    assert_eq!(members, expected);
    assert_eq!(file["format"], "heysummon-expert-identity");
    assert_eq!(file["version"], 1);
    assert_eq!(file["fingerprint"], out["fingerprint"]);
    assert_eq!(
        file["kdf"],
        json!({"name": "PBKDF2-HMAC-SHA256", "iterations": 600_000, "salt": file["kdf"]["salt"]})
    );
    assert_eq!(file["cipher"]["name"], "AES-256-GCM");
    let decoded = |v: &Value| BASE64.decode(v.as_str().unwrap()).unwrap().len();
    assert_eq!(decoded(&file["kdf"]["salt"]), 16);
    assert_eq!(decoded(&file["cipher"]["iv"]), 12);
    assert_eq!(decoded(&file["ciphertext"]), 19 + 96 + 23 + 96 + 2 + 16);
    let keys = PartyKeys::from_identity_file(text, passphrase)?;
    assert_eq!(keys.public().fingerprint().to_string(), out["fingerprint"]);

    // IndexedDB keeps the identity across a reload, non-extractable and working.
    page.reload().await?;
    let stored = run(&page, &web, STORED_JS, Value::Null).await?;
    assert_eq!(stored["fingerprint"], out["fingerprint"]);
    assert_eq!(stored["file"], text);
    assert_eq!(stored["extractable"], json!([false, false]));
    assert_eq!(stored["opened"], "still here");
    assert_clean(&page).await?;

    // Another profile has none; clearing forgets it.
    let elsewhere = open_in(&browser, &web, "second").await?;
    assert_eq!(
        run(&elsewhere, &web, STORED_JS, Value::Null).await?,
        Value::Null
    );
    run(
        &page,
        &web,
        "await ks.clearIdentity(); return null;",
        Value::Null,
    )
    .await?;
    assert_eq!(run(&page, &web, STORED_JS, Value::Null).await?, Value::Null);
    assert_clean(&page).await
}

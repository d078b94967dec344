// The end-to-end message envelope (PROTOCOL part C), byte-exact with the Rust SDK and the
// vectors:
//   shared    = X25519(S.encryptPrivate, R.encryptPublic)
//   key       = HKDF-SHA256(IKM = shared, salt = UTF-8(messageId), info = "heysummon-msg", L = 32)
//   iv        = 12 random bytes
//   AES-256-GCM over the UTF-8 plaintext, no associated data, the 16-byte tag kept apart
//   signature = Ed25519(S.signPrivate, ciphertext bytes)
// On the wire: { ciphertext, iv, authTag, signature, messageId }, binary members in standard
// base64 with padding.
//
// Opening verifies the signature with the sender's key FIRST, then derives and decrypts. Every
// failure is the same Error("message could not be authenticated"); never a partial plaintext.

import { base64ToBytes, bytesToBase64, concatBytes, utf8Decode, utf8Encode, wipe } from './encoding.js';
import { ED25519, X25519, importPublicKey, subtle } from './keys.js';

/** The HKDF info of every message key. */
export const HKDF_INFO = 'heysummon-msg';
/** The one error every failure to open a message throws. */
export const OPAQUE_MESSAGE_ERROR = 'message could not be authenticated';

const IV_LEN = 12;
const TAG_LEN = 16;
const SIGNATURE_LEN = 64;
const info = utf8Encode(HKDF_INFO);

function opaque() {
  return new Error(OPAQUE_MESSAGE_ERROR);
}

/**
 * A two-party channel: our party and the peer's public keys, with the X25519 shared secret
 * computed once and kept only as a non-extractable HKDF key. Diffie–Hellman is symmetric, so one
 * channel seals to the peer and opens the peer's messages. Make one with `createChannel`.
 */
export class Channel {
  #signKey;
  #peerVerifyKey;
  #hkdfKey;

  constructor(signKey, peerVerifyKey, hkdfKey) {
    this.#signKey = signKey;
    this.#peerVerifyKey = peerVerifyKey;
    this.#hkdfKey = hkdfKey;
  }

  async #messageKey(messageId, usage) {
    return subtle().deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: utf8Encode(messageId), info },
      this.#hkdfKey,
      { name: 'AES-GCM', length: 256 },
      false,
      [usage],
    );
  }

  /**
   * Seals a message to the peer. `options.messageId` defaults to a random UUID v4.
   * `options.iv` (12 bytes, or their base64) is for known-answer tests ONLY: never reuse an
   * (iv, messageId) pair on one channel — AES-GCM then loses confidentiality and integrity.
   * Returns { ciphertext, iv, authTag, signature, messageId }.
   */
  async seal(plaintext, options = {}) {
    if (typeof plaintext !== 'string') throw new TypeError('the plaintext must be a string');
    const messageId = options.messageId ?? crypto.randomUUID();
    if (typeof messageId !== 'string') throw new TypeError('the messageId must be a string');
    let iv = options.iv ?? crypto.getRandomValues(new Uint8Array(IV_LEN));
    if (typeof iv === 'string') iv = base64ToBytes(iv);
    if (!(iv instanceof Uint8Array) || iv.length !== IV_LEN) throw new TypeError('the iv must be 12 bytes');

    const key = await this.#messageKey(messageId, 'encrypt');
    const data = utf8Encode(plaintext);
    let sealed;
    try {
      sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, data));
    } finally {
      wipe(data);
    }
    const ciphertext = sealed.subarray(0, sealed.length - TAG_LEN);
    const authTag = sealed.subarray(sealed.length - TAG_LEN);
    const signature = await subtle().sign({ name: ED25519 }, this.#signKey, ciphertext);
    return {
      ciphertext: bytesToBase64(ciphertext),
      iv: bytesToBase64(iv),
      authTag: bytesToBase64(authTag),
      signature: bytesToBase64(signature),
      messageId,
    };
  }

  /**
   * Opens a message from the peer: decodes and checks the lengths, verifies the Ed25519
   * signature over the ciphertext with the peer's key, then derives the key, decrypts and checks
   * the tag and the UTF-8. Any failure throws Error("message could not be authenticated").
   */
  async open(payload) {
    let plaintext;
    try {
      const { ciphertext, iv, authTag, signature, messageId } = payload;
      if (typeof messageId !== 'string') throw opaque();
      const body = base64ToBytes(ciphertext);
      const ivBytes = base64ToBytes(iv);
      const tag = base64ToBytes(authTag);
      const sig = base64ToBytes(signature);
      if (ivBytes.length !== IV_LEN || tag.length !== TAG_LEN || sig.length !== SIGNATURE_LEN) throw opaque();
      if (!(await subtle().verify({ name: ED25519 }, this.#peerVerifyKey, sig, body))) throw opaque();
      const key = await this.#messageKey(messageId, 'decrypt');
      plaintext = new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: ivBytes }, key, concatBytes(body, tag)));
      return utf8Decode(plaintext);
    } catch {
      throw opaque();
    } finally {
      wipe(plaintext);
    }
  }
}

/**
 * A channel between `party` ({ sign: { privateKey }, encrypt: { privateKey } }) and the peer's
 * `{ signPublicKey, encryptPublicKey }` (hex DER SPKI, PEM or base64). Throws when a peer key is
 * malformed or the X25519 agreement is degenerate (a low-order peer key).
 */
export async function createChannel(party, peer) {
  const peerVerifyKey = await importPublicKey(peer.signPublicKey, ED25519);
  const peerEncryptKey = await importPublicKey(peer.encryptPublicKey, X25519);
  let shared;
  try {
    shared = new Uint8Array(
      await subtle().deriveBits({ name: X25519, public: peerEncryptKey }, party.encrypt.privateKey, 256),
    );
  } catch {
    throw new Error('invalid X25519 public key: weak (small-order) key');
  }
  try {
    if (shared.every((byte) => byte === 0)) throw new Error('invalid X25519 public key: weak (small-order) key');
    const hkdfKey = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return new Channel(party.sign.privateKey, peerVerifyKey, hkdfKey);
  } finally {
    wipe(shared);
  }
}

/** Seals one message from `party` to `peer` (see Channel.seal). */
export async function sealMessage(party, peer, plaintext, options = {}) {
  return (await createChannel(party, peer)).seal(plaintext, options);
}

/** Opens one message from `peer` to `party`; any failure, bad peer keys included, is the opaque error. */
export async function openMessage(party, peer, payload) {
  let channel;
  try {
    channel = await createChannel(party, peer);
  } catch {
    throw opaque();
  }
  return channel.open(payload);
}

// Keys (PROTOCOL part C and B3): Ed25519 for signing, X25519 for key agreement. A public key on
// the wire is the lowercase hex of its DER SubjectPublicKeyInfo; PEM and standard base64 of the
// DER are accepted on input. Private keys are WebCrypto CryptoKeys, non-extractable wherever
// this module hands them out.
//
// A "party" (our own keys) is
//   { sign: { privateKey, publicSpkiHex }, encrypt: { privateKey, publicSpkiHex }, fingerprint }
// and a peer's public keys are { signPublicKey, encryptPublicKey } in any accepted encoding.

import {
  base64ToBytes,
  bytesEqual,
  bytesToBase64,
  bytesToHex,
  concatBytes,
  hexToBytes,
  utf8Encode,
  wipe,
} from './encoding.js';

export const ED25519 = 'Ed25519';
export const X25519 = 'X25519';

const SPKI_PREFIX = {
  [ED25519]: hexToBytes('302a300506032b6570032100'),
  [X25519]: hexToBytes('302a300506032b656e032100'),
};
const PKCS8_V1_PREFIX = {
  [ED25519]: hexToBytes('302e020100300506032b657004220420'),
  [X25519]: hexToBytes('302e020100300506032b656e04220420'),
};
const OID = {
  [ED25519]: hexToBytes('06032b6570'),
  [X25519]: hexToBytes('06032b656e'),
};
const PRIVATE_USAGES = { [ED25519]: ['sign'], [X25519]: ['deriveBits'] };
const PUBLIC_USAGES = { [ED25519]: ['verify'], [X25519]: [] };

/** The WebCrypto API, or a clear error outside a secure context. */
export function subtle() {
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new Error('WebCrypto is unavailable: the dashboard needs a secure context (https or localhost)');
  }
  return globalThis.crypto.subtle;
}

function keyError(algorithm) {
  return new Error(`invalid ${algorithm} public key`);
}

/** DER bytes carried by hex, PEM or base64 text (or the DER bytes themselves). */
function decodeKeyText(text, algorithm) {
  if (text instanceof Uint8Array) return text;
  if (typeof text !== 'string') throw keyError(algorithm);
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      const match = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END PUBLIC KEY-----$/.exec(trimmed);
      if (!match) throw keyError(algorithm);
      return base64ToBytes(match[1].replace(/[\r\n]/g, ''));
    }
    if (trimmed !== '' && /^[0-9a-fA-F]+$/.test(trimmed)) return hexToBytes(trimmed);
    if (trimmed !== '' && /^[A-Za-z0-9+/=]+$/.test(trimmed)) return base64ToBytes(trimmed);
  } catch {
    throw keyError(algorithm);
  }
  throw keyError(algorithm);
}

/** The 44-byte DER SubjectPublicKeyInfo of a public key given as hex, PEM, base64 or DER. */
export function publicKeyDer(text, algorithm) {
  const der = decodeKeyText(text, algorithm);
  if (der.length !== 44 || !bytesEqual(der.subarray(0, 12), SPKI_PREFIX[algorithm])) {
    throw keyError(algorithm);
  }
  return der;
}

/** The wire form of a public key: lowercase hex of its DER SubjectPublicKeyInfo. */
export function publicKeyHex(text, algorithm) {
  return bytesToHex(publicKeyDer(text, algorithm));
}

/** The raw 32 bytes of a public key. */
export function publicKeyRaw(text, algorithm) {
  return publicKeyDer(text, algorithm).slice(12);
}

/** The wire form of a raw 32-byte public key. */
export function publicKeyFromRaw(raw, algorithm) {
  if (raw.length !== 32) throw keyError(algorithm);
  return bytesToHex(concatBytes(SPKI_PREFIX[algorithm], raw));
}

/** PEM (`-----BEGIN PUBLIC KEY-----`) of a public key, as Node and OpenSSL write it. */
export function publicKeyPem(text, algorithm) {
  const b64 = bytesToBase64(publicKeyDer(text, algorithm));
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

/** A peer's public key as a CryptoKey (Ed25519: verify; X25519: a peer key for deriveBits). */
export function importPublicKey(text, algorithm) {
  return subtle().importKey('raw', publicKeyRaw(text, algorithm), { name: algorithm }, true, PUBLIC_USAGES[algorithm]);
}

/** The expert fingerprint (B3): lowercase hex SHA-256 of the sign DER SPKI then the encrypt one. */
export async function fingerprint(signPublicKey, encryptPublicKey) {
  const der = concatBytes(publicKeyDer(signPublicKey, ED25519), publicKeyDer(encryptPublicKey, X25519));
  return bytesToHex(await subtle().digest('SHA-256', der));
}

/** A fingerprint for people: groups of four hex digits separated by spaces. */
export function formatFingerprint(hex) {
  const digits = String(hex).toLowerCase().replace(/[\s:-]/g, '');
  return (digits.match(/.{1,4}/g) || []).join(' ');
}

/** The fixed 48-byte PKCS#8 v1 DER of a 32-byte private key (what the identity file holds). */
export function pkcs8FromRaw(raw, algorithm) {
  if (raw.length !== 32) throw new Error('a private key is 32 bytes');
  return concatBytes(PKCS8_V1_PREFIX[algorithm], raw);
}

/**
 * Reads PKCS#8 v1 (PrivateKeyInfo) or v2 (OneAsymmetricKey, with attributes and the public key)
 * by walking the DER. Returns { key: the 32 private bytes, publicKey: 32 bytes or null }, or
 * throws. Definite minimal lengths only.
 */
export function parsePkcs8(der, algorithm) {
  const fail = () => { throw new Error('malformed private key'); };
  const reader = (bytes) => {
    let pos = 0;
    return {
      done: () => pos === bytes.length,
      peek: () => bytes[pos],
      element(tag) {
        if (bytes[pos] !== tag) fail();
        let len = bytes[pos + 1];
        let start = pos + 2;
        if (len === 0x81) {
          len = bytes[pos + 2];
          start += 1;
          if (!(len >= 0x80)) fail();
        } else if (len === 0x82) {
          len = (bytes[pos + 2] << 8) | bytes[pos + 3];
          start += 2;
          if (!(len >= 0x100)) fail();
        } else if (!(len < 0x80)) {
          fail();
        }
        if (start + len > bytes.length) fail();
        pos = start + len;
        return bytes.subarray(start, start + len);
      },
    };
  };
  const outer = reader(der);
  const fields = reader(outer.element(0x30));
  if (!outer.done()) fail();
  const version = fields.element(0x02);
  if (version.length !== 1 || version[0] > 1) fail();
  if (!bytesEqual(fields.element(0x30), OID[algorithm])) fail();
  const wrapped = reader(fields.element(0x04));
  const key = wrapped.element(0x04);
  if (!wrapped.done() || key.length !== 32) fail();
  if (fields.peek() === 0xa0) fields.element(0xa0);
  let publicKey = null;
  if (fields.peek() === 0x81) {
    if (version[0] !== 1) fail();
    const bits = fields.element(0x81);
    if (bits.length !== 33 || bits[0] !== 0) fail();
    publicKey = bits.slice(1);
  }
  if (!fields.done()) fail();
  return { key: key.slice(), publicKey };
}

/** Imports a 32-byte private key as a NON-EXTRACTABLE CryptoKey. */
export function importPrivateKey(raw, algorithm) {
  const der = pkcs8FromRaw(raw, algorithm);
  return subtle()
    .importKey('pkcs8', der, { name: algorithm }, false, PRIVATE_USAGES[algorithm])
    .finally(() => wipe(der));
}

/**
 * Checks that non-extractable private keys belong to the claimed public keys, without ever
 * exporting them: X25519(private, base point 9) must be the claimed public key, and a signature
 * by the Ed25519 private key must verify under the claimed public key.
 */
export async function checkKeyPairs(signPrivateKey, encryptPrivateKey, signPublicKey, encryptPublicKey) {
  const basePoint = new Uint8Array(32);
  basePoint[0] = 9;
  const base = await subtle().importKey('raw', basePoint, { name: X25519 }, true, []);
  const derived = await subtle().deriveBits({ name: X25519, public: base }, encryptPrivateKey, 256);
  const challenge = utf8Encode(`heysummon key check ${bytesToHex(crypto.getRandomValues(new Uint8Array(16)))}`);
  const signature = await subtle().sign({ name: ED25519 }, signPrivateKey, challenge);
  const verifier = await importPublicKey(signPublicKey, ED25519);
  const signs = await subtle().verify({ name: ED25519 }, verifier, signature, challenge);
  if (!signs || !bytesEqual(derived, publicKeyRaw(encryptPublicKey, X25519))) {
    throw new Error('the private keys do not match the public keys');
  }
}

/**
 * A party from the two private keys as hex PKCS#8 (v1 or v2, as in the identity file) and the
 * public keys they must belong to. The private keys become non-extractable CryptoKeys.
 */
export async function importPrivateKeys({ signPrivateKey, encryptPrivateKey }, { signPublicKey, encryptPublicKey }) {
  let signDer;
  let encryptDer;
  let sign;
  let encrypt;
  try {
    signDer = hexToBytes(signPrivateKey);
    encryptDer = hexToBytes(encryptPrivateKey);
    sign = parsePkcs8(signDer, ED25519);
    encrypt = parsePkcs8(encryptDer, X25519);
    const signHex = publicKeyHex(signPublicKey, ED25519);
    const encryptHex = publicKeyHex(encryptPublicKey, X25519);
    if (sign.publicKey && !bytesEqual(sign.publicKey, publicKeyRaw(signHex, ED25519))) {
      throw new Error('the private keys do not match the public keys');
    }
    if (encrypt.publicKey && !bytesEqual(encrypt.publicKey, publicKeyRaw(encryptHex, X25519))) {
      throw new Error('the private keys do not match the public keys');
    }
    const signKey = await importPrivateKey(sign.key, ED25519);
    const encryptKey = await importPrivateKey(encrypt.key, X25519);
    await checkKeyPairs(signKey, encryptKey, signHex, encryptHex);
    return {
      sign: { privateKey: signKey, publicSpkiHex: signHex },
      encrypt: { privateKey: encryptKey, publicSpkiHex: encryptHex },
      fingerprint: await fingerprint(signHex, encryptHex),
    };
  } finally {
    wipe(signDer, encryptDer, sign?.key, encrypt?.key);
  }
}

/** A fresh party whose private keys are non-extractable from birth (no way to export them). */
export async function generateIdentity() {
  const sign = await subtle().generateKey({ name: ED25519 }, false, ['sign', 'verify']);
  const encrypt = await subtle().generateKey({ name: X25519 }, false, ['deriveBits']);
  const signHex = bytesToHex(await subtle().exportKey('spki', sign.publicKey));
  const encryptHex = bytesToHex(await subtle().exportKey('spki', encrypt.publicKey));
  return {
    sign: { privateKey: sign.privateKey, publicSpkiHex: signHex },
    encrypt: { privateKey: encrypt.privateKey, publicSpkiHex: encryptHex },
    fingerprint: await fingerprint(signHex, encryptHex),
  };
}

/** The public half of a party, in the wire shape a peer uses: { signPublicKey, encryptPublicKey }. */
export function publicKeysOf(party) {
  return { signPublicKey: party.sign.publicSpkiHex, encryptPublicKey: party.encrypt.publicSpkiHex };
}

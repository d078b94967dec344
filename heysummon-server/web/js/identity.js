// The passphrase-protected expert identity file (PROTOCOL E4), the same format as the Rust
// SDK's `PartyKeys::to_identity_file` / `from_identity_file` (docs/protocol.md, "Expert identity
// file"):
//
//   { "format": "heysummon-expert-identity", "version": 1, "fingerprint": "<64 hex>",
//     "signPublicKey": "<hex DER SPKI>", "encryptPublicKey": "<hex DER SPKI>",
//     "kdf": { "name": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": "<base64 16 bytes>" },
//     "cipher": { "name": "AES-256-GCM", "iv": "<base64 12 bytes>" },
//     "ciphertext": "<base64 of ciphertext || 16-byte tag>" }
//
// key = PBKDF2-HMAC-SHA256(UTF-8 passphrase, salt, iterations, 32 bytes); AES-256-GCM with the
// associated data UTF-8("heysummon-expert-identity/v1:" + fingerprint) over the UTF-8 JSON
// {"signPrivateKey":"<hex PKCS#8>","encryptPrivateKey":"<hex PKCS#8>"}.
//
// The private keys the browser keeps are NON-EXTRACTABLE CryptoKeys. A new identity is
// generated extractable only for as long as it takes to write its file; the file text is kept
// beside the keys, so the identity can be exported again without ever holding the raw keys.

import { base64ToBytes, bytesToBase64, bytesToHex, utf8Decode, utf8Encode, wipe } from './encoding.js';
import { ED25519, X25519, fingerprint, importPrivateKeys, parsePkcs8, pkcs8FromRaw, publicKeyHex, subtle } from './keys.js';

export const IDENTITY_FILE_FORMAT = 'heysummon-expert-identity';
export const IDENTITY_FILE_ITERATIONS = 600000;
export const IDENTITY_FILE_MIN_ITERATIONS = 100000;
export const IDENTITY_FILE_MAX_ITERATIONS = 10000000;
/** The one error every failure to open an identity file throws. */
export const OPAQUE_IDENTITY_ERROR = 'the identity file could not be opened: wrong passphrase or damaged file';

const KDF_NAME = 'PBKDF2-HMAC-SHA256';
const CIPHER_NAME = 'AES-256-GCM';
const AAD_PREFIX = 'heysummon-expert-identity/v1:';
const FILE_MEMBERS = ['format', 'version', 'fingerprint', 'signPublicKey', 'encryptPublicKey', 'kdf', 'cipher', 'ciphertext'];

function hasExactly(value, members) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === members.length && members.every((member) => keys.includes(member));
}

async function passphraseKey(passphrase, salt, iterations, usage) {
  const material = utf8Encode(passphrase);
  try {
    const base = await subtle().importKey('raw', material, 'PBKDF2', false, ['deriveKey']);
    return await subtle().deriveKey(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
      base,
      { name: 'AES-GCM', length: 256 },
      false,
      [usage],
    );
  } finally {
    wipe(material);
  }
}

/**
 * Writes an identity file for raw 32-byte private keys and their public keys. Internal: the
 * raw keys only ever exist inside createIdentityFile.
 */
async function writeIdentityFile(signRaw, encryptRaw, signHex, encryptHex, passphrase, iterations) {
  const print = await fingerprint(signHex, encryptHex);
  const signDer = pkcs8FromRaw(signRaw, ED25519);
  const encryptDer = pkcs8FromRaw(encryptRaw, X25519);
  const plaintext = utf8Encode(
    JSON.stringify({ signPrivateKey: bytesToHex(signDer), encryptPrivateKey: bytesToHex(encryptDer) }),
  );
  try {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = await passphraseKey(passphrase, salt, iterations, 'encrypt');
    const sealed = await subtle().encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8Encode(AAD_PREFIX + print) },
      key,
      plaintext,
    );
    const file = {
      format: IDENTITY_FILE_FORMAT,
      version: 1,
      fingerprint: print,
      signPublicKey: signHex,
      encryptPublicKey: encryptHex,
      kdf: { name: KDF_NAME, iterations, salt: bytesToBase64(salt) },
      cipher: { name: CIPHER_NAME, iv: bytesToBase64(iv) },
      ciphertext: bytesToBase64(sealed),
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  } finally {
    wipe(signDer, encryptDer, plaintext);
  }
}

/**
 * Generates a new expert identity and its passphrase-protected file. The keys are generated
 * extractable, exported once into the encrypted file, then re-imported NON-EXTRACTABLE; the
 * extractable keys are dropped. `options.iterations` defaults to 600,000 (tests may use fewer,
 * down to the 100,000 every reader accepts).
 * Returns { sign: { privateKey, publicSpkiHex }, encrypt: { ... }, fingerprint, file }.
 */
export async function createIdentityFile(passphrase, options = {}) {
  if (typeof passphrase !== 'string' || passphrase === '') {
    throw new Error('an identity file needs a non-empty passphrase');
  }
  const iterations = options.iterations ?? IDENTITY_FILE_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < IDENTITY_FILE_MIN_ITERATIONS || iterations > IDENTITY_FILE_MAX_ITERATIONS) {
    throw new Error('iterations out of range');
  }
  let sign = await subtle().generateKey({ name: ED25519 }, true, ['sign', 'verify']);
  let encrypt = await subtle().generateKey({ name: X25519 }, true, ['deriveBits']);
  const signHex = bytesToHex(await subtle().exportKey('spki', sign.publicKey));
  const encryptHex = bytesToHex(await subtle().exportKey('spki', encrypt.publicKey));
  // Browsers export PKCS#8 v1 (Chromium: 302e0201003005…04220420 + 32 bytes); read it properly
  // in case one appends the public key (v2).
  const signDer = new Uint8Array(await subtle().exportKey('pkcs8', sign.privateKey));
  const encryptDer = new Uint8Array(await subtle().exportKey('pkcs8', encrypt.privateKey));
  sign = null;
  encrypt = null;
  const signRaw = parsePkcs8(signDer, ED25519).key;
  const encryptRaw = parsePkcs8(encryptDer, X25519).key;
  try {
    const file = await writeIdentityFile(signRaw, encryptRaw, signHex, encryptHex, passphrase, iterations);
    const party = await importPrivateKeys(
      { signPrivateKey: bytesToHex(signDer), encryptPrivateKey: bytesToHex(encryptDer) },
      { signPublicKey: signHex, encryptPublicKey: encryptHex },
    );
    return { ...party, file };
  } finally {
    wipe(signDer, encryptDer, signRaw, encryptRaw);
  }
}

/**
 * Opens an identity file (from this dashboard, another browser, or the Rust SDK's
 * `ExpertClient::export_identity`). Checks the format, the iteration range, the lengths, that
 * the fingerprint is the public keys', the tag (which binds the fingerprint), and that the
 * private keys belong to the public keys; the private keys become NON-EXTRACTABLE CryptoKeys.
 * Returns { sign, encrypt, fingerprint, file: text }. Any failure throws
 * Error("the identity file could not be opened: wrong passphrase or damaged file").
 */
export async function importIdentityFile(text, passphrase) {
  let plaintext;
  let secrets;
  try {
    const file = JSON.parse(text);
    if (!hasExactly(file, FILE_MEMBERS) || !hasExactly(file.kdf, ['name', 'iterations', 'salt']) || !hasExactly(file.cipher, ['name', 'iv'])) {
      throw new Error('malformed');
    }
    const { iterations } = file.kdf;
    const wellFormed = file.format === IDENTITY_FILE_FORMAT
      && file.version === 1
      && file.kdf.name === KDF_NAME
      && file.cipher.name === CIPHER_NAME
      && Number.isInteger(iterations)
      && iterations >= IDENTITY_FILE_MIN_ITERATIONS
      && iterations <= IDENTITY_FILE_MAX_ITERATIONS
      && typeof passphrase === 'string';
    if (!wellFormed) throw new Error('malformed');
    const salt = base64ToBytes(file.kdf.salt);
    const iv = base64ToBytes(file.cipher.iv);
    const sealed = base64ToBytes(file.ciphertext);
    if (salt.length !== 16 || iv.length !== 12 || sealed.length < 16) throw new Error('malformed');
    // The public keys in their exact wire form, and their fingerprint: before the slow KDF.
    if (publicKeyHex(file.signPublicKey, ED25519) !== file.signPublicKey
      || publicKeyHex(file.encryptPublicKey, X25519) !== file.encryptPublicKey
      || (await fingerprint(file.signPublicKey, file.encryptPublicKey)) !== file.fingerprint) {
      throw new Error('malformed');
    }
    const key = await passphraseKey(passphrase, salt, iterations, 'decrypt');
    plaintext = new Uint8Array(await subtle().decrypt(
      { name: 'AES-GCM', iv, additionalData: utf8Encode(AAD_PREFIX + file.fingerprint) },
      key,
      sealed,
    ));
    secrets = JSON.parse(utf8Decode(plaintext));
    if (!hasExactly(secrets, ['signPrivateKey', 'encryptPrivateKey'])
      || typeof secrets.signPrivateKey !== 'string' || typeof secrets.encryptPrivateKey !== 'string') {
      throw new Error('malformed');
    }
    const party = await importPrivateKeys(secrets, file);
    if (party.fingerprint !== file.fingerprint) throw new Error('malformed');
    return { ...party, file: text };
  } catch {
    throw new Error(OPAQUE_IDENTITY_ERROR);
  } finally {
    wipe(plaintext);
    secrets = null;
  }
}

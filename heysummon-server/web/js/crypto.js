// HeySummon dashboard cryptography: PROTOCOL parts C, B3 and E4 on WebCrypto alone (Ed25519,
// X25519, HKDF-SHA256, AES-256-GCM, PBKDF2, SHA-256), byte-exact with the Rust SDK and the
// vectors. No third-party code. Needs a secure context (https, or http on localhost/127.0.0.1).
//
// Shapes
//   party    = { sign: { privateKey: CryptoKey, publicSpkiHex }, encrypt: { privateKey, publicSpkiHex },
//                fingerprint, file? }   private keys are NON-EXTRACTABLE CryptoKeys
//   peer     = { signPublicKey, encryptPublicKey }   hex DER SPKI (the wire form), PEM or base64 DER
//   payload  = { ciphertext, iv, authTag, signature, messageId }   standard base64 with padding
//
// Encodings (./encoding.js)
//   bytesToHex(bytes) -> string             hexToBytes(text) -> Uint8Array        (strict)
//   bytesToBase64(bytes) -> string          base64ToBytes(text) -> Uint8Array     (strict)
//   utf8Encode(text) -> Uint8Array          utf8Decode(bytes) -> string           (fatal)
//
// Keys (./keys.js); algorithm is ED25519 ('Ed25519') or X25519 ('X25519')
//   publicKeyHex(text|bytes, algorithm) -> hex DER SPKI      publicKeyDer(...) -> Uint8Array(44)
//   publicKeyRaw(text, algorithm) -> Uint8Array(32)          publicKeyFromRaw(raw, algorithm) -> hex
//   publicKeyPem(text, algorithm) -> PEM                      all throw Error('invalid … public key')
//   async fingerprint(signPublicKey, encryptPublicKey) -> 64 lowercase hex
//   formatFingerprint(hex) -> 'b1de 8361 b8ee …'
//   async generateIdentity() -> party (no file; keys non-extractable from birth)
//   async importPrivateKeys({ signPrivateKey, encryptPrivateKey }, peerShapedPublicKeys) -> party
//         (hex PKCS#8 v1 or v2; checks the private keys belong to the public keys)
//   publicKeysOf(party) -> peer
//
// Messages (./envelope.js)
//   async createChannel(party, peer) -> Channel         (X25519 once; throws on bad peer keys)
//   async channel.seal(plaintext, { messageId?, iv? }) -> payload
//         messageId defaults to crypto.randomUUID(); iv is for known-answer tests only
//   async channel.open(payload) -> plaintext            verifies the signature FIRST
//   async sealMessage(party, peer, plaintext, options?) -> payload
//   async openMessage(party, peer, payload) -> plaintext
//   every failure to open throws Error(OPAQUE_MESSAGE_ERROR = 'message could not be authenticated')
//
// Identity files (./identity.js)
//   async createIdentityFile(passphrase, { iterations? }) -> party with file
//   async importIdentityFile(text, passphrase) -> party with file (= text)
//   every failure to import throws Error(OPAQUE_IDENTITY_ERROR =
//         'the identity file could not be opened: wrong passphrase or damaged file')
//
// Persistence of a party in IndexedDB is ./keystore.js (saveIdentity, loadIdentity, clearIdentity).

export {
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  hexToBytes,
  utf8Decode,
  utf8Encode,
} from './encoding.js';
export {
  ED25519,
  X25519,
  fingerprint,
  formatFingerprint,
  generateIdentity,
  importPrivateKeys,
  publicKeyDer,
  publicKeyFromRaw,
  publicKeyHex,
  publicKeyPem,
  publicKeyRaw,
  publicKeysOf,
} from './keys.js';
export { DECISION_CONTEXT, actionHash, canonicalJson, decisionBody, decisionStatement } from './decision.js';
export {
  Channel,
  HKDF_INFO,
  OPAQUE_MESSAGE_ERROR,
  createChannel,
  openMessage,
  sealMessage,
} from './envelope.js';
export {
  IDENTITY_FILE_FORMAT,
  IDENTITY_FILE_ITERATIONS,
  IDENTITY_FILE_MAX_ITERATIONS,
  IDENTITY_FILE_MIN_ITERATIONS,
  OPAQUE_IDENTITY_ERROR,
  createIdentityFile,
  importIdentityFile,
} from './identity.js';

// Byte encodings of the wire (PROTOCOL part C): lowercase hex, standard base64 with padding,
// UTF-8. Decoders are strict — they accept exactly what the Rust side accepts and throw on
// anything else — so a message or file that one side refuses, the other refuses too.

const HEX_DIGITS = '0123456789abcdef';
const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Any byte source (Uint8Array, ArrayBuffer, other typed array) as a Uint8Array view. */
export function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('expected bytes');
}

/** Lowercase hex of bytes. */
export function bytesToHex(data) {
  const bytes = asBytes(data);
  let out = '';
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 15];
  return out;
}

/** Bytes of hex text (either case, even length, nothing else). Throws on anything else. */
export function hexToBytes(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error('malformed hex');
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i += 1) {
    bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

/** Standard base64 with padding. */
export function bytesToBase64(data) {
  const bytes = asBytes(data);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Bytes of standard base64 with padding. Strict, like the Rust side: no whitespace, no
 * URL-safe alphabet, padding required, and unused trailing bits must be zero.
 */
export function base64ToBytes(text) {
  if (typeof text !== 'string' || !BASE64_SHAPE.test(text)) throw new Error('malformed base64');
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  if (bytesToBase64(bytes) !== text) throw new Error('malformed base64');
  return bytes;
}

/** UTF-8 bytes of a string. */
export function utf8Encode(text) {
  return utf8Encoder.encode(text);
}

/** A string from UTF-8 bytes; throws on malformed UTF-8 instead of substituting U+FFFD. */
export function utf8Decode(data) {
  return utf8Decoder.decode(asBytes(data));
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + asBytes(part).length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(asBytes(part), offset);
    offset += asBytes(part).length;
  }
  return out;
}

/** Equality of two byte arrays, without an early exit on the first difference. */
export function bytesEqual(a, b) {
  const x = asBytes(a);
  const y = asBytes(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i += 1) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** Overwrites buffers that held secrets (best effort: JavaScript strings cannot be wiped). */
export function wipe(...buffers) {
  for (const buffer of buffers) {
    if (buffer) asBytes(buffer).fill(0);
  }
}

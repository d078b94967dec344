// The expert's end of the end-to-end encryption, over crypto.js: what a listed message holds,
// opening a message of a request with the expert's identity, sealing a reply to the agent's
// key, and making or importing the identity.

import * as e2e from './crypto.js';

/** What a message of `GET /api/requests/{id}` holds: plaintext, a decision marker or a sealed payload. */
export function messageKind(message) {
  if (message.iv === 'plaintext' || (!message.ciphertext && typeof message.plaintext === 'string')) {
    return { type: 'plaintext', text: message.plaintext ?? decodePlaintext(message.ciphertext) };
  }
  if (!message.iv && !message.authTag && !message.signature &&
      (message.ciphertext === 'approved' || message.ciphertext === 'denied')) {
    return { type: 'decision', decision: message.ciphertext };
  }
  return { type: 'encrypted' };
}

function decodePlaintext(base64) {
  try {
    const bytes = Uint8Array.from(atob(base64 ?? ''), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return '';
  }
}

/**
 * Whether the agent of a request sent keys replies can be encrypted to (an Ed25519 and an
 * X25519 public key). HeySummon clients always send a pair; scripts and test suites sometimes
 * send placeholders, and those get plaintext replies, shown as such.
 */
export function agentHasKeys(page) {
  if (!page.consumerSignPubKey || !page.consumerEncryptPubKey) return false;
  try {
    e2e.publicKeyDer(page.consumerSignPubKey, e2e.ED25519);
    e2e.publicKeyDer(page.consumerEncryptPubKey, e2e.X25519);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether replies on a request must be encrypted: the agent sent usable keys, or the
 * conversation is end to end already (sealed, keys exchanged, or any message encrypted). A
 * conversation that was end to end never falls back to plaintext, whatever its keys look like
 * now.
 */
export function endToEnd(page) {
  return agentHasKeys(page) || Boolean(page.request?.sealed) || Boolean(page.expertEncryptPubKey) ||
    page.messages.some((m) => messageKind(m).type === 'encrypted');
}

/** Whether a request's expert keys (when it has them) are this identity's. */
function isMine(identity, page) {
  const sign = page.expertSignPubKey?.toLowerCase();
  const encrypt = page.expertEncryptPubKey?.toLowerCase();
  return (!sign || sign === identity.sign.publicSpkiHex) && (!encrypt || encrypt === identity.encrypt.publicSpkiHex);
}

/**
 * Opens an encrypted message of a request: the agent's messages are verified with the agent's
 * signing key, the expert's own with the expert's; both directions share one X25519 secret.
 * Throws the one opaque error on any failure.
 */
export async function openMessage(identity, page, message) {
  if (!page.consumerEncryptPubKey || !isMine(identity, page)) {
    throw new Error('message could not be authenticated');
  }
  const peer = {
    signPublicKey: message.from === 'expert' ? identity.sign.publicSpkiHex : page.consumerSignPubKey,
    encryptPublicKey: page.consumerEncryptPubKey,
  };
  const channel = await e2e.createChannel(identity, peer);
  return channel.open({
    ciphertext: message.ciphertext,
    iv: message.iv,
    authTag: message.authTag,
    signature: message.signature,
    messageId: message.messageId,
  });
}

/** Seals a reply to the request's agent: the members of an encrypted `POST /message/:id`. */
export async function sealReply(identity, page, text) {
  if (!isMine(identity, page)) {
    throw new Error('This request was answered with another identity; import that identity to reply.');
  }
  const channel = await e2e.createChannel(identity, {
    signPublicKey: page.consumerSignPubKey,
    encryptPublicKey: page.consumerEncryptPubKey,
  });
  return channel.seal(text);
}

/** A new identity, its private keys non-extractable, with its passphrase-protected file. */
export const createIdentity = (passphrase) => e2e.createIdentityFile(passphrase);

/** The identity of a passphrase-protected file. */
export const importIdentity = (text, passphrase) => e2e.importIdentityFile(text, passphrase);

/** A fingerprint in groups of four. */
export const groupFingerprint = (hex) => e2e.formatFingerprint(hex);

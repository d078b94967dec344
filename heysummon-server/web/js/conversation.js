// The expert's end of the end-to-end encryption, over crypto.js: what a listed message holds,
// opening a message of a request with the expert's identity, sealing a reply to the agent's
// key, and making or importing the identity.

import * as crypto from './crypto.js';

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

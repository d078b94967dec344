// Decisions only the expert can make (PROTOCOL H4): the statement an expert signs when it
// approves or denies, and its Ed25519 signature by the identity's signing key. The agent checks
// it against the key it pinned, for the action it asked about, so the server cannot forge it.

import { bytesToBase64, utf8Encode } from './encoding.js';
import { ED25519, subtle } from './keys.js';

export const DECISION_CONTEXT = 'HEYSUMMON-DECISION-V1';

/** The signed text: six lines (the action hashes empty when there are none). */
export function decisionStatement({ requestId, decision, actionHash, editedActionHash, decidedAtMs }) {
  return [DECISION_CONTEXT, requestId, decision, actionHash ?? '', editedActionHash ?? '',
    String(decidedAtMs)].join('\n');
}

/**
 * The body of `POST /api/v1/approve/:id`, signed by the identity when it is the expert's
 * published one (else unsigned: agents that require signed decisions will not act on it).
 */
export async function decisionBody(identity, publishedFingerprint, { requestId, decision, actionHash }) {
  if (!identity || !publishedFingerprint || identity.fingerprint !== publishedFingerprint) {
    return { decision };
  }
  const decidedAtMs = Date.now();
  const statement = decisionStatement({ requestId, decision, actionHash, decidedAtMs });
  const signature = await subtle().sign({ name: ED25519 }, identity.sign.privateKey, utf8Encode(statement));
  const body = {
    decision,
    decisionSignature: bytesToBase64(new Uint8Array(signature)),
    decidedAt: new Date(decidedAtMs).toISOString(),
  };
  if (actionHash) body.actionHash = actionHash;
  return body;
}

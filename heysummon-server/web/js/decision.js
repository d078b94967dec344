// Decisions only the expert can make (PROTOCOL H4): the statement an expert signs when it
// approves or denies, and its Ed25519 signature by the identity's signing key. The agent checks
// it against the key it pinned, for the action it asked about, so the server cannot forge it.

import { bytesToBase64, bytesToHex, utf8Encode } from './encoding.js';
import { ED25519, subtle } from './keys.js';

export const DECISION_CONTEXT = 'HEYSUMMON-DECISION-V1';

const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ACTION_HASH = /^[0-9a-f]{64}$/;

/** The signed text: six lines (the action hashes empty when there are none). */
export function decisionStatement({ requestId, decision, actionHash, editedActionHash, decidedAtMs }) {
  // No field may spill into another line: a server could make one decision read as another.
  if (!REQUEST_ID.test(requestId)) throw new Error('not a request id that can be signed');
  for (const hash of [actionHash, editedActionHash]) {
    if (hash != null && !ACTION_HASH.test(hash)) throw new Error('not an action hash');
  }
  if (decision !== 'approved' && decision !== 'denied') throw new Error('not a decision');
  return [DECISION_CONTEXT, requestId, decision, actionHash ?? '', editedActionHash ?? '',
    String(decidedAtMs)].join('\n');
}

/**
 * RFC 8785 canonical JSON of a parsed value: members sorted by their UTF-16 code units,
 * numbers and strings as ECMAScript's JSON.stringify writes them, which is what RFC 8785 asks.
 */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const names = Object.keys(value).sort();
  return `{${names.map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`).join(',')}}`;
}

/** The lowercase hex SHA-256 of an action's canonical JSON. */
export async function actionHash(action) {
  const digest = await subtle().digest('SHA-256', utf8Encode(canonicalJson(action)));
  return bytesToHex(new Uint8Array(digest));
}

/**
 * The body of `POST /api/v1/approve/:id`, signed by the identity when it is the expert's
 * published one (else unsigned: agents that require signed decisions will not act on it).
 * A plaintext request's action is hashed here, from the action the expert sees; the server's
 * hash must agree. A sealed request's action is in the sealed question; its hash is the agent's.
 */
export async function decisionBody(identity, publishedFingerprint, { requestId, decision, action, actionHash: claimed }) {
  if (!identity || !publishedFingerprint || identity.fingerprint !== publishedFingerprint) {
    return { decision };
  }
  let hash = claimed ?? null;
  if (action !== undefined && action !== null) {
    hash = await actionHash(action);
    if (claimed != null && claimed !== hash) {
      throw new Error('The action shown does not match the action the agent asked about; not signing.');
    }
  }
  const decidedAtMs = Date.now();
  const statement = decisionStatement({ requestId, decision, actionHash: hash, decidedAtMs });
  const signature = await subtle().sign({ name: ED25519 }, identity.sign.privateKey, utf8Encode(statement));
  const body = {
    decision,
    decisionSignature: bytesToBase64(new Uint8Array(signature)),
    decidedAt: new Date(decidedAtMs).toISOString(),
  };
  if (hash) body.actionHash = hash;
  return body;
}

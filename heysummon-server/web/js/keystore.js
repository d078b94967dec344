// Keeps the expert's identity in this browser's IndexedDB (PROTOCOL E4). What is stored:
// the two private keys as CryptoKey objects — the structured clone keeps them NON-EXTRACTABLE,
// so not even this origin's scripts can read the key bytes — the public keys, the fingerprint
// and the passphrase-protected identity file text (to export the identity again later).
//
//   async saveIdentity(party, expertId?)  stores a party (refuses extractable private keys)
//   async loadIdentity(expertId?)         -> party ({ sign, encrypt, fingerprint, file }) or null
//   async clearIdentity(expertId?)        forgets it
//
// Database `heysummon`, object store `identity`, one record per expert signed in here (the
// dashboard passes the expert's id; without one, the record `expert`), so a browser shared by
// two experts never offers one's identity to the other.

const DB_NAME = 'heysummon';
const DB_VERSION = 1;
const STORE = 'identity';
const DEFAULT_RECORD = 'expert';

const recordKey = (expertId) => (expertId ? `expert:${expertId}` : DEFAULT_RECORD);

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase() {
  const req = indexedDB.open(DB_NAME, DB_VERSION);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
  };
  return request(req);
}

async function withStore(mode, action) {
  const db = await openDatabase();
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
      tx.onerror = () => reject(tx.error);
    });
    // A failed request rejects first; keep the transaction's own rejection from going unhandled.
    done.catch(() => {});
    const result = await request(action(tx.objectStore(STORE)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

function isPrivateKey(key) {
  return typeof CryptoKey !== 'undefined' && key instanceof CryptoKey && key.type === 'private';
}

/** Stores the party as this browser's expert identity, replacing any earlier one. */
export async function saveIdentity(party, expertId) {
  const signKey = party?.sign?.privateKey;
  const encryptKey = party?.encrypt?.privateKey;
  if (!isPrivateKey(signKey) || !isPrivateKey(encryptKey)) {
    throw new TypeError('an identity needs its two private CryptoKeys');
  }
  if (signKey.extractable || encryptKey.extractable) {
    throw new Error('refusing to store extractable private keys');
  }
  const record = {
    version: 1,
    signPrivateKey: signKey,
    encryptPrivateKey: encryptKey,
    signPublicKey: party.sign.publicSpkiHex,
    encryptPublicKey: party.encrypt.publicSpkiHex,
    fingerprint: party.fingerprint,
    file: party.file ?? null,
    savedAt: new Date().toISOString(),
  };
  await withStore('readwrite', (store) => store.put(record, recordKey(expertId)));
}

/** The stored expert identity, or null when this browser has none. */
export async function loadIdentity(expertId) {
  const record = await withStore('readonly', (store) => store.get(recordKey(expertId)));
  if (!record || record.version !== 1) return null;
  return {
    sign: { privateKey: record.signPrivateKey, publicSpkiHex: record.signPublicKey },
    encrypt: { privateKey: record.encryptPrivateKey, publicSpkiHex: record.encryptPublicKey },
    fingerprint: record.fingerprint,
    file: record.file ?? undefined,
  };
}

/** Forgets the stored expert identity (a missing one is not an error). */
export async function clearIdentity(expertId) {
  await withStore('readwrite', (store) => store.delete(recordKey(expertId)));
}

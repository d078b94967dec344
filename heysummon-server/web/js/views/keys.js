// Keys: the expert's identity (made in this browser, its private keys never leaving it
// unencrypted; published for sealed questions; exported and imported as a passphrase-protected
// file that ExpertClient reads too) and the expert's client API keys.

import { api, seg } from '../api.js';
import { confirmAction, download, fill, h, setPageTitle, toast, when } from '../dom.js';
import { createIdentity, groupFingerprint, importIdentity } from '../conversation.js';
import { clearIdentity, loadIdentity, saveIdentity } from '../keystore.js';

const MIN_PASSPHRASE = 10;

export async function showKeys(main, ctx) {
  setPageTitle('Keys');
  const identityPanel = h('section', { class: 'panel', 'aria-labelledby': 'identity-title', id: 'identity' });
  const keysBody = h('tbody', {});
  const shown = h('div', { id: 'new-key', 'aria-live': 'polite' });
  const keyName = h('input', { id: 'key-name', placeholder: 'e.g. deploy agent', maxlength: 100, required: true });
  fill(main,
    h('h1', {}, 'Keys'),
    identityPanel,
    h('section', { class: 'panel', 'aria-labelledby': 'client-keys-title' },
      h('h2', { id: 'client-keys-title' }, 'Client API keys'),
      h('p', { class: 'muted' }, 'Agents use these keys to ask you. A key is shown once, when it is made or rotated.'),
      h('form', { class: 'row', onsubmit: createKey },
        h('label', { for: 'key-name' }, 'Name'), keyName,
        h('button', { type: 'submit', id: 'create-key' }, 'Create key')),
      shown,
      h('div', { class: 'table' }, h('table', {}, h('thead', {}, h('tr', {},
        h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', { class: 'optional' }, 'Created'),
        h('th', {}, 'Last used'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))), keysBody))),
  );

  async function renderIdentity() {
    const identity = await loadIdentity(ctx.me.expert.id).catch(() => null);
    const published = ctx.me.publishedKeys?.fingerprint ?? null;
    const passphrase = h('input', { type: 'password', id: 'passphrase', class: 'wide', autocomplete: 'new-password', minlength: MIN_PASSPHRASE, 'aria-describedby': 'passphrase-help' });
    const fileInput = h('input', { type: 'file', id: 'identity-file', accept: '.json,application/json', 'aria-label': 'Identity file' });
    const parts = [h('h2', { id: 'identity-title' }, 'Your identity')];
    if (identity) {
      parts.push(
        h('p', {}, 'Fingerprint (compare it with what agents pin):'),
        h('p', { class: 'fingerprint', id: 'fingerprint' }, groupFingerprint(identity.fingerprint)),
        published === identity.fingerprint
          ? h('p', { class: 'muted', id: 'publish-state' }, 'Published: agents can seal questions to it.')
          : h('p', { class: 'notice', id: 'publish-state' },
            published ? 'Another identity is published. Publish this one to answer sealed questions here.' : 'Not published yet.',
            ' ', h('button', { type: 'button', id: 'publish', onclick: () => publish(identity) }, 'Publish')),
        h('div', { class: 'actions start' },
          h('button', { type: 'button', class: 'ghost', id: 'export', onclick: () => exportIdentity(identity) }, 'Export identity file'),
          h('button', { type: 'button', class: 'ghost', id: 'forget', onclick: forget }, 'Remove from this browser')),
      );
    } else {
      parts.push(h('p', { class: 'muted' },
        'Make an identity to read sealed questions and answer end to end, or import the file of one you have.'));
    }
    parts.push(
      h('h3', {}, identity ? 'Use another identity file' : 'Make or import an identity'),
      h('label', { for: 'passphrase' }, 'Passphrase'),
      h('p', { class: 'muted hint', id: 'passphrase-help' },
        `At least ${MIN_PASSPHRASE} characters. It protects the identity file; it never leaves this browser.`),
      passphrase,
      h('div', { class: 'actions start' },
        identity ? null : h('button', { type: 'button', id: 'generate', onclick: (event) => generate(passphrase, event.currentTarget) }, 'Make a new identity'),
        fileInput,
        h('button', { type: 'button', class: 'ghost', id: 'import', onclick: (event) => importFile(fileInput, passphrase, event.currentTarget) }, 'Import identity file')),
    );
    fill(identityPanel, parts);
  }

  function checked(passphrase) {
    if (passphrase.value.length < MIN_PASSPHRASE) {
      toast(`The passphrase needs at least ${MIN_PASSPHRASE} characters.`);
      passphrase.focus();
      return null;
    }
    return passphrase.value;
  }

  async function generate(passphrase, button) {
    const secret = checked(passphrase);
    if (!secret) return;
    await working(button, async () => {
      const identity = await createIdentity(secret);
      await saveIdentity(identity, ctx.me.expert.id);
      await publish(identity);
    });
  }

  async function importFile(input, passphrase, button) {
    const file = input.files?.[0];
    if (!file) return toast('Choose an identity file first.');
    const secret = checked(passphrase);
    if (!secret) return;
    await working(button, async () => {
      let identity;
      try {
        identity = await importIdentity(await file.text(), secret);
      } catch {
        return toast('The identity file could not be opened: wrong passphrase or damaged file.');
      }
      await saveIdentity(identity, ctx.me.expert.id);
      await publish(identity);
    });
  }

  /** Key derivation takes a moment: the button stays disabled meanwhile (no double clicks). */
  async function working(button, work) {
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  /**
   * Publishes an identity. When another one is published, asks first: agents that pinned its
   * fingerprint refuse to ask until they pin the new one. Declined, the identity stays in this
   * browser, unpublished (the page offers to publish it).
   */
  async function publish(identity) {
    const current = ctx.me.publishedKeys?.fingerprint;
    if (current && current !== identity.fingerprint && !(await confirmAction(
      `Publish this identity instead of the one agents know now (${groupFingerprint(current).slice(0, 19)} …)? ` +
      'Agents that pinned that fingerprint will refuse to ask you until they pin this one.',
      'Publish'))) {
      return renderIdentity();
    }
    try {
      const answer = await api.put('/api/v1/expert/keys', {
        signPublicKey: identity.sign.publicSpkiHex,
        encryptPublicKey: identity.encrypt.publicSpkiHex,
      });
      if (answer.fingerprint !== identity.fingerprint) throw new Error('The server reports another fingerprint.');
      await ctx.refreshMe();
      toast('Identity published');
    } catch (error) {
      toast(error.message);
    }
    await renderIdentity();
  }

  function exportIdentity(identity) {
    download(`heysummon-identity-${identity.fingerprint.slice(0, 8)}.json`, identity.file);
  }

  async function forget() {
    if (!(await confirmAction('Remove the identity from this browser? Without its file you cannot read sealed questions here.', 'Remove'))) return;
    await clearIdentity(ctx.me.expert.id);
    await renderIdentity();
  }

  async function loadKeys() {
    const { keys } = await api.get('/api/keys');
    fill(keysBody, keys.map((key) => h('tr', { dataset: { keyId: key.id } },
      h('td', {}, key.name ?? '—'),
      h('td', {}, key.status),
      h('td', { class: 'optional' }, when(key.createdAt)),
      h('td', {}, key.lastUsedAt ? when(key.lastUsedAt) : 'never'),
      h('td', {}, key.status === 'active' ? h('div', { class: 'row' },
        h('button', { type: 'button', class: 'ghost', 'aria-label': `Rotate ${key.name ?? key.id}`, onclick: () => rotate(key) }, 'Rotate'),
        h('button', { type: 'button', class: 'ghost', 'aria-label': `Revoke ${key.name ?? key.id}`, onclick: () => revoke(key) }, 'Revoke')) : null))));
  }

  function showOnce(title, secret) {
    fill(shown, h('div', { class: 'notice' },
      h('p', {}, title, ' Copy it now: it will not be shown again.'),
      h('p', { class: 'secret', id: 'new-key-value' }, secret),
      h('button', { type: 'button', class: 'ghost', onclick: async () => { await navigator.clipboard?.writeText(secret); toast('Copied'); } }, 'Copy')));
  }

  async function createKey(event) {
    event.preventDefault();
    try {
      const added = await api.post('/api/keys', { name: keyName.value });
      keyName.value = '';
      showOnce('Your new client key.', added.clientKey);
      await loadKeys();
    } catch (error) {
      toast(error.message);
    }
  }

  async function rotate(key) {
    if (!(await confirmAction(`Rotate “${key.name ?? key.id}”? The old key keeps working for 24 hours.`, 'Rotate'))) return;
    const rotated = await api.post(`/api/keys/${seg(key.id)}/rotate`);
    showOnce('The rotated key.', rotated.clientKey);
    await loadKeys();
  }

  async function revoke(key) {
    if (!(await confirmAction(`Revoke “${key.name ?? key.id}”? Agents using it stop at once.`, 'Revoke'))) return;
    await api.del(`/api/keys/${seg(key.id)}`);
    toast('Key revoked');
    await loadKeys();
  }

  await Promise.all([renderIdentity(), loadKeys()]);
  return {};
}

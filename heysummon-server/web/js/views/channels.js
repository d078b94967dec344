// Notification channels (PROTOCOL F), the Channels section of Settings: the expert's webhooks,
// Telegram, Slack and Discord bots and e-mail addresses with their delivery state; added (a
// generated webhook secret is shown once), tested, paused and resumed, connected to a chat user
// with a one-time code, removed. Secrets are write-only: no answer of the server shows them
// again. What the API refuses is shown next to the form or the channel it is about.

import { api, seg } from '../api.js';
import { badge, confirmAction, displayable, fill, h, toast, when } from '../dom.js';

/** The kinds and their options (the API's names); `secret` ones are write-only. */
const KINDS = {
  webhook: ['Webhook', [
    { name: 'url', label: 'URL', required: true, inputmode: 'url', hint: 'Where signed JSON is posted (Standard Webhooks).' },
    { name: 'secret', label: 'Signing secret (optional)', secret: true, placeholder: 'whsec_…', hint: 'Left empty, one is made for you and shown once.' },
  ]],
  telegram: ['Telegram', [
    { name: 'botToken', label: 'Bot token', secret: true, required: true, hint: 'From @BotFather.' },
    { name: 'chatId', label: 'Chat id', required: true },
  ]],
  slack: ['Slack', [
    { name: 'botToken', label: 'Bot token', secret: true, required: true, placeholder: 'xoxb-…' },
    { name: 'channel', label: 'Channel id', required: true, placeholder: 'C0123456789' },
    { name: 'signingSecret', label: 'Signing secret', secret: true, required: true },
  ]],
  discord: ['Discord', [
    { name: 'botToken', label: 'Bot token', secret: true, required: true },
    { name: 'channelId', label: 'Channel id', required: true },
    { name: 'publicKey', label: 'Public key', required: true, hint: 'The application’s public key (hex).' },
  ]],
  email: ['E-mail', [
    { name: 'to', label: 'Address', type: 'email', required: true, placeholder: 'you@example.com' },
  ]],
};
/** Kinds whose chat users link themselves with a one-time code. */
const CONNECTABLE = ['telegram', 'slack', 'discord'];
const SETTING_LABELS = { url: 'URL', chatId: 'Chat id', channel: 'Channel', channelId: 'Channel id', publicKey: 'Public key', to: 'Address' };
/** How often the list is read again (delivery state, linked users) while Settings is open. */
const REFRESH_MS = 30_000;

const kindLabel = (kind) => KINDS[kind]?.[0] ?? kind;
const fieldId = (name) => `channel-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** An API error as shown next to what failed: the server's sentence and its details. */
function problem(error, lead = '') {
  if (error?.status === 401) return null; // the sign-in page shows
  const details = error?.details;
  return h('div', { class: 'problem', role: 'alert' },
    h('p', { class: 'error' }, lead, error?.message || 'Something went wrong.'),
    details === undefined || details === null || details === '' ? null
      : h('p', { class: 'details' }, displayable(typeof details === 'string' ? details : JSON.stringify(details))));
}

function copyButton(text, label) {
  return h('button', {
    type: 'button', class: 'ghost', 'aria-label': label,
    onclick: async () => {
      if (!navigator.clipboard) return toast('Copying is not available here: select the text instead.');
      await navigator.clipboard.writeText(text);
      toast('Copied');
    },
  }, 'Copy');
}

/** The Channels section: `element` to place, `load()` to fill it (never throws), `leave()`. */
export function channelsSection(ctx) {
  const list = h('ul', { class: 'channels', id: 'channels-list', 'aria-label': 'Your channels' },
    h('li', { class: 'empty' }, 'Loading…'));
  const listProblem = h('div', { id: 'channels-problem' });
  const kind = h('select', { id: 'channel-kind', name: 'kind' },
    Object.entries(KINDS).map(([value, [label]]) => h('option', { value }, label)));
  const name = h('input', { id: 'channel-name', name: 'name', maxlength: 100, autocomplete: 'off', placeholder: 'e.g. on-call phone' });
  const fields = h('div', { class: 'fields', id: 'channel-fields' });
  const submit = h('button', { type: 'submit', id: 'add-channel' }, 'Add channel');
  const formProblem = h('div', { id: 'channel-form-problem' });
  const shown = h('div', { id: 'channel-shown' });
  const outputs = new Map(); // channelId → what a test or a connect answered, kept across redraws
  let channels = [];
  let drawn = null;

  kind.addEventListener('change', () => { renderFields(); fill(formProblem); });
  renderFields();

  const element = h('section', { class: 'panel', 'aria-labelledby': 'channels-title', id: 'channels' },
    h('h2', { id: 'channels-title' }, 'Channels'),
    h('p', { class: 'muted' }, 'Webhooks, Telegram, Slack, Discord and e-mail reach you away from this tab: every new request goes to each active channel.'),
    listProblem,
    list,
    h('h3', { id: 'add-channel-title' }, 'Add a channel'),
    h('form', { id: 'channel-form', 'aria-labelledby': 'add-channel-title', onsubmit: add },
      h('div', { class: 'fields' },
        h('div', {}, h('label', { for: 'channel-kind' }, 'Kind'), kind),
        h('div', {}, h('label', { for: 'channel-name' }, 'Name (optional)'), name)),
      fields,
      h('div', { class: 'actions start' }, submit),
      formProblem),
    shown);

  function renderFields() {
    fill(fields, KINDS[kind.value][1].map((field) => {
      const id = fieldId(field.name);
      return h('div', {},
        h('label', { for: id }, field.label),
        h('input', {
          id, name: field.name, type: field.secret ? 'password' : (field.type ?? 'text'),
          autocomplete: 'off', spellcheck: 'false', required: field.required,
          inputmode: field.inputmode, placeholder: field.placeholder,
          'aria-describedby': field.hint ? `${id}-hint` : undefined,
        }),
        field.hint ? h('p', { class: 'muted hint', id: `${id}-hint` }, field.hint) : null);
    }));
  }

  function output(channelId) {
    if (!outputs.has(channelId)) outputs.set(channelId, h('div', { class: 'channel-output' }));
    return outputs.get(channelId);
  }

  function render() {
    // A redraw keeps the keyboard focus on the same button of the same channel.
    const active = list.contains(document.activeElement) ? document.activeElement : null;
    const focusItem = active?.closest('li');
    const focusIndex = focusItem ? [...focusItem.querySelectorAll('button')].indexOf(active) : -1;
    for (const id of outputs.keys()) {
      if (!channels.some((c) => c.channelId === id)) outputs.delete(id);
    }
    if (channels.length === 0) {
      fill(list, h('li', { class: 'empty' }, 'No channel yet. Add one below.'));
    } else {
      fill(list, channels.map(item));
    }
    if (focusIndex >= 0) {
      const again = [...list.children].find((li) => li.dataset.channelId === focusItem.dataset.channelId);
      again?.querySelectorAll('button')[focusIndex]?.focus();
    }
  }

  function item(channel) {
    const id = channel.channelId;
    const label = kindLabel(channel.kind);
    const title = channel.name || `${label} channel`;
    const paused = channel.status === 'paused';
    const facts = [];
    for (const [key, value] of Object.entries(channel.settings ?? {})) {
      if (value === null || value === undefined || value === '') continue;
      facts.push(h('dt', {}, SETTING_LABELS[key] ?? key),
        h('dd', { class: 'mono' }, displayable(typeof value === 'string' ? value : JSON.stringify(value))));
    }
    facts.push(h('dt', {}, 'Last delivery'), h('dd', { class: 'last-delivered' }, channel.lastDeliveredAt ? when(channel.lastDeliveredAt) : 'never'));
    facts.push(h('dt', {}, 'Pending'), h('dd', { class: 'pending' }, String(channel.pending ?? 0)));
    if (channel.lastError) {
      facts.push(h('dt', {}, 'Last error'), h('dd', { class: 'last-error' },
        h('span', { class: 'error' }, displayable(channel.lastError)),
        channel.lastErrorAt ? h('span', { class: 'muted' }, ` · ${when(channel.lastErrorAt)}`) : null));
    }
    const users = channel.linkedUsers ?? [];
    if (CONNECTABLE.includes(channel.kind) || users.length > 0) {
      facts.push(h('dt', {}, 'Linked users'), h('dd', { class: 'linked-users' }, users.length === 0
        ? h('span', { class: 'muted' }, 'Nobody yet: press Connect.')
        : users.map((user) => h('span', { class: 'linked-user' },
          h('span', { title: user.userId }, displayable(user.displayName || user.userId)),
          h('button', {
            type: 'button', class: 'link', dataset: { action: 'unlink', userId: user.userId },
            'aria-label': `Unlink ${displayable(user.displayName || user.userId)} from ${title}`,
            onclick: () => unlink(channel, user),
          }, 'Unlink')))));
    }
    facts.push(h('dt', {}, 'Added'), h('dd', {}, when(channel.createdAt)));
    return h('li', { dataset: { channelId: id, kind: channel.kind, status: channel.status, name: channel.name || '' } },
      h('div', { class: 'channel-head' },
        h('strong', { class: 'channel-name' }, displayable(title)),
        h('span', { class: 'muted' }, label),
        badge(channel.status)),
      h('dl', { class: 'facts' }, facts),
      h('div', { class: 'actions start' },
        h('button', {
          type: 'button', class: 'ghost', dataset: { action: 'test' },
          'aria-label': `Send a test notification to ${title}`, onclick: (event) => test(channel, event.currentTarget),
        }, 'Test'),
        h('button', {
          type: 'button', class: 'ghost', dataset: { action: paused ? 'resume' : 'pause' },
          'aria-label': `${paused ? 'Resume' : 'Pause'} ${title}`, onclick: (event) => setPaused(channel, !paused, event.currentTarget),
        }, paused ? 'Resume' : 'Pause'),
        CONNECTABLE.includes(channel.kind) ? h('button', {
          type: 'button', class: 'ghost', dataset: { action: 'connect' },
          'aria-label': `Connect a ${label} user to ${title}`, onclick: (event) => connect(channel, event.currentTarget),
        }, 'Connect') : null,
        h('button', {
          type: 'button', class: 'ghost', dataset: { action: 'remove' },
          'aria-label': `Remove ${title}`, onclick: () => remove(channel, title),
        }, 'Remove')),
      output(id));
  }

  /** Reads the list again; a failure is shown above it (the list stays as it was). */
  async function load() {
    try {
      const answer = await api.get('/api/channels');
      fill(listProblem);
      channels = answer?.channels ?? [];
      list.hidden = false;
    } catch (error) {
      fill(listProblem, problem(error, 'The channels could not be loaded: '));
      if (drawn === null) list.hidden = true;
      return;
    }
    const key = JSON.stringify(channels);
    if (key === drawn) return;
    drawn = key;
    render();
  }

  /** Runs a call with its button disabled (no double clicks). */
  async function busy(button, work) {
    if (button) button.disabled = true;
    try {
      await work();
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function add(event) {
    event.preventDefault();
    fill(formProblem);
    const body = { kind: kind.value };
    if (name.value.trim()) body.name = name.value.trim();
    for (const input of fields.querySelectorAll('input')) {
      if (input.value.trim()) body[input.name] = input.value.trim();
    }
    await busy(submit, async () => {
      let added;
      try {
        added = await api.post('/api/channels', body);
      } catch (error) {
        fill(formProblem, problem(error, 'Not added: '));
        return;
      }
      const title = body.name ?? `${kindLabel(body.kind)} channel`;
      name.value = '';
      for (const input of fields.querySelectorAll('input')) input.value = '';
      // A secret shown before stays until it is dismissed: it may not have been copied yet.
      if (added?.secret) showSecret(title, added.secret);
      else toast('Channel added');
      await load();
    });
  }

  function showSecret(title, secret) {
    fill(shown, h('div', { class: 'notice', role: 'status' },
      h('p', {}, h('strong', {}, 'Shown once. '),
        `The signing secret of ${title}: give it to the receiver to check signatures. Copy it now; it will not be shown again.`),
      h('p', { class: 'secret', id: 'channel-secret-value' }, secret),
      h('div', { class: 'actions start' },
        copyButton(secret, 'Copy the signing secret'),
        h('button', { type: 'button', class: 'ghost', 'aria-label': 'Hide the signing secret', onclick: () => fill(shown) }, 'Done'))));
  }

  async function test(channel, button) {
    const out = output(channel.channelId);
    fill(out, h('p', { class: 'muted' }, 'Sending a test notification…'));
    await busy(button, async () => {
      try {
        const answer = await api.post(`/api/channels/${seg(channel.channelId)}/test`);
        fill(out, answer?.delivered
          ? h('p', { class: 'success', role: 'status' }, 'Delivered: the test notification arrived.')
          : problem({ message: 'The test notification was not delivered.' }));
      } catch (error) {
        fill(out, problem(error));
      }
    });
    await load();
  }

  async function setPaused(channel, paused, button) {
    const out = output(channel.channelId);
    await busy(button, async () => {
      try {
        await api.patch(`/api/channels/${seg(channel.channelId)}`, { paused });
        fill(out);
        toast(paused ? 'Channel paused' : 'Channel resumed');
      } catch (error) {
        fill(out, problem(error));
      }
    });
    await load();
  }

  async function connect(channel, button) {
    const out = output(channel.channelId);
    await busy(button, async () => {
      let answer;
      try {
        answer = await api.post(`/api/channels/${seg(channel.channelId)}/connect`);
      } catch (error) {
        fill(out, problem(error));
        return;
      }
      const minutes = Math.max(0, Math.round((Date.parse(answer.expiresAt) - Date.now()) / 60_000));
      fill(out, h('div', { class: 'notice', role: 'status' },
        h('p', {}, `Your one-time code for ${kindLabel(channel.kind)}:`),
        h('p', { class: 'secret connect-code' }, answer.code),
        h('p', { class: 'muted hint' }, `Valid once, for ${minutes} min (until ${when(answer.expiresAt)}).`),
        answer.instructions ? h('p', { class: 'instructions' }, displayable(answer.instructions)) : null,
        h('div', { class: 'actions start' },
          copyButton(answer.code, 'Copy the code'),
          h('button', { type: 'button', class: 'ghost', 'aria-label': 'Hide the code', onclick: () => fill(out) }, 'Done'))));
    });
  }

  async function unlink(channel, user) {
    const who = displayable(user.displayName || user.userId);
    if (!(await confirmAction(`Unlink ${who}? They can no longer answer from the chat.`, 'Unlink'))) return;
    try {
      await api.del(`/api/channels/${seg(channel.channelId)}/links/${seg(user.userId)}`);
      toast('User unlinked');
    } catch (error) {
      fill(output(channel.channelId), problem(error));
    }
    await load();
  }

  async function remove(channel, title) {
    if (!(await confirmAction(`Remove ${title}? Nothing more is delivered to it.`, 'Remove'))) return;
    try {
      await api.del(`/api/channels/${seg(channel.channelId)}`);
      toast('Channel removed');
    } catch (error) {
      fill(output(channel.channelId), problem(error));
    }
    await load();
  }

  // New requests change what is pending; deliveries change the state: read the list again
  // after events (a burst is one read) and every little while.
  let soon = null;
  const unsubscribe = ctx.live?.subscribe(() => {
    clearTimeout(soon);
    soon = setTimeout(load, 1000);
  });
  const ticker = setInterval(load, REFRESH_MS);

  return {
    element,
    load,
    leave() {
      unsubscribe?.();
      clearTimeout(soon);
      clearInterval(ticker);
    },
  };
}

// The audit trail of one request: what the server's tamper-evident audit log recorded about
// it (the decision, who closed it, its expiry), oldest first. Every value is shown as text.

import { api, seg } from '../api.js';
import { h, when } from '../dom.js';

const KINDS = {
  decision: 'Decision',
  closed: 'Closed',
  expired: 'Expired',
  cancelled: 'Cancelled',
  acknowledged: 'Acknowledged',
};

/** Who an entry names, in words: you, an agent key, the server, an operator. */
function actorOf(actor, me) {
  if (typeof actor !== 'string') return 'the server';
  if (actor === `expert:${me}`) return 'you';
  if (actor.startsWith('expert:')) return 'another expert';
  if (actor.startsWith('client:')) return 'the agent';
  if (actor === 'admin') return 'an administrator';
  return 'the server';
}

function describe(entry, me) {
  const what = KINDS[entry.kind] ?? entry.kind;
  const who = actorOf(entry.actor, me);
  const details = entry.details ?? {};
  if (entry.kind === 'decision' && typeof details.decision === 'string') {
    // PROTOCOL H4: whether the expert's key signed it, so that agents can tell it is theirs.
    const signed = details.signed === true ? 'signed with the expert\'s key' : 'not signed';
    return `${what} by ${who}: ${details.decision} (${signed})`;
  }
  const facts = Object.entries(details)
    .map(([name, value]) => `${name}: ${String(value)}`)
    .join(', ');
  return `${what} by ${who}${facts ? ` (${facts})` : ''}`;
}

/** The audit section of the request page, filled once the entries arrive. */
export function auditSection(requestId, me) {
  const list = h('ol', { class: 'audit', id: 'audit' });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, 'Audit trail'), list);
  api.get(`/api/requests/${seg(requestId)}/audit`).then((page) => {
    const entries = page?.entries ?? [];
    if (entries.length === 0) {
      list.replaceWith(h('p', { class: 'muted', id: 'audit' }, 'Nothing recorded yet.'));
      return;
    }
    list.append(...entries.map((entry) =>
      h('li', { dataset: { seq: String(entry.seq) } },
        h('span', { class: 'muted' }, `#${entry.seq} · ${when(entry.createdAt)} · `),
        describe(entry, me))));
  }, () => {
    list.replaceWith(h('p', { class: 'muted', id: 'audit' }, 'The audit trail could not be loaded.'));
  });
  return section;
}

// The inbox: the expert's requests, newest first, filtered by status and searchable by
// reference code; updated live from the event stream; j/k to move, Enter to open.

import { api } from '../api.js';
import { age, badge, failed, fill, h, setPageTitle, typing } from '../dom.js';

const FILTERS = [
  ['open', 'Open', 'pending,reviewing,active'],
  ['pending', 'Pending', 'pending'],
  ['review', 'In review', 'reviewing,active'],
  ['answered', 'Answered', 'responded'],
  ['ended', 'Ended', 'closed,expired,cancelled,acknowledged'],
  ['all', 'All', ''],
];
const STATUS_LABEL = {
  pending: 'pending', reviewing: 'in review', active: 'open', responded: 'answered',
  closed: 'closed', expired: 'expired', cancelled: 'cancelled', acknowledged: 'acknowledged',
};

/** The text a row shows for a request: the question, or what kind of secret it is. */
export function summaryOf(request) {
  if (request.sealed) return 'Sealed question — open it to decrypt';
  return request.question ?? '';
}

export function statusBadge(request) {
  const label = STATUS_LABEL[request.status] ?? request.status;
  const decided = request.approvalDecision;
  return decided ? badge(decided, decided) : badge(request.status, label);
}

export async function showInbox(main, ctx) {
  const params = new URLSearchParams(location.search);
  const state = {
    filter: FILTERS.some(([id]) => id === params.get('filter')) ? params.get('filter') : 'open',
    ref: params.get('ref') ?? '',
    items: [],
    next: null,
    selected: 0,
    seen: new Set(),
  };
  const list = h('ul', { class: 'inbox', 'aria-label': 'Requests', id: 'inbox-list' });
  const more = h('button', { type: 'button', class: 'ghost', id: 'load-more', hidden: true, onclick: () => load(true) }, 'Load more');
  const filter = h('select', { 'aria-label': 'Filter by status', id: 'status-filter' },
    FILTERS.map(([id, label]) => h('option', { value: id, selected: id === state.filter }, label)));
  const search = h('input', {
    type: 'search', id: 'ref-search', placeholder: 'Search by reference code (HS-…)',
    'aria-label': 'Search by reference code', value: state.ref, autocomplete: 'off',
  });
  filter.addEventListener('change', () => { state.filter = filter.value; sync(); load(false).catch(failed); });
  let searchTimer;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.ref = search.value.trim(); sync(); load(false).catch(failed); }, 250);
  });
  fill(main,
    h('h1', {}, 'Inbox'),
    h('div', { class: 'filters', role: 'search' }, filter, search),
    list,
    h('div', { class: 'actions' }, more),
  );
  setPageTitle('Inbox');

  function sync() {
    const query = new URLSearchParams();
    if (state.filter !== 'open') query.set('filter', state.filter);
    if (state.ref) query.set('ref', state.ref);
    const suffix = query.toString();
    history.replaceState({}, '', suffix ? `/?${suffix}` : '/');
  }

  function query(cursor, limit) {
    const q = new URLSearchParams();
    const statuses = FILTERS.find(([id]) => id === state.filter)[2];
    if (statuses) q.set('status', statuses);
    if (state.ref) q.set('ref', state.ref);
    if (cursor) q.set('cursor', cursor);
    q.set('limit', String(limit));
    return `/api/requests?${q}`;
  }

  let loading = null;
  async function load(append) {
    const limit = append ? 50 : Math.min(200, Math.max(50, state.items.length));
    const page = await api.get(query(append ? state.next : null, limit));
    state.items = append ? state.items.concat(page.requests) : page.requests;
    state.next = page.nextCursor;
    render();
  }

  function reload() {
    // Coalesce bursts of events into one reload, never two at once.
    if (loading) { loading.again = true; return; }
    loading = { again: false };
    load(false).catch(() => {}).finally(() => {
      const again = loading.again;
      loading = null;
      if (again) reload();
    });
  }

  function render() {
    const stamp = performance.timeOrigin + performance.now();
    state.selected = Math.min(state.selected, Math.max(0, state.items.length - 1));
    if (state.items.length === 0) {
      fill(list, h('li', { class: 'empty' }, state.ref ? 'No request with that reference code.' : 'Nothing here. New requests appear the moment they arrive.'));
    } else {
      fill(list, state.items.map((request, index) => row(request, index, stamp)));
    }
    more.hidden = !state.next;
  }

  function row(request, index, stamp) {
    const fresh = !state.seen.has(request.id);
    state.seen.add(request.id);
    const item = h('li', {
      'aria-selected': index === state.selected ? 'true' : 'false',
      dataset: { id: request.id, ref: request.refCode, status: request.status, ...(fresh ? { shownAt: String(stamp) } : {}) },
    },
      h('a', { href: `/requests/${encodeURIComponent(request.id)}`, 'data-link': true },
        h('span', { class: 'ref' }, request.refCode),
        h('span', { class: request.sealed ? 'summary sealed' : 'summary' }, summaryOf(request)),
        statusBadge(request),
        h('span', { class: 'meta' },
          `${request.kind} · ${request.clientKeyName ?? 'unnamed key'} · ${age(request.createdAt)}`),
      ));
    return item;
  }

  function move(delta) {
    if (state.items.length === 0) return;
    state.selected = Math.max(0, Math.min(state.items.length - 1, state.selected + delta));
    list.querySelectorAll('li').forEach((li, index) =>
      li.setAttribute('aria-selected', index === state.selected ? 'true' : 'false'));
    list.querySelectorAll('li a')[state.selected]?.focus();
  }

  const unsubscribe = ctx.live.subscribe(() => reload());
  const ticker = setInterval(render, 60_000);
  await load(false);
  return {
    leave() { unsubscribe(); clearInterval(ticker); },
    key(event) {
      if (typing(event)) return;
      if (event.key === 'j') { event.preventDefault(); move(1); }
      else if (event.key === 'k') { event.preventDefault(); move(-1); }
      else if (event.key === '/') { event.preventDefault(); search.focus(); }
      else if (event.key === 'Enter' && state.items[state.selected] && !(event.target instanceof HTMLAnchorElement)) {
        ctx.navigate(`/requests/${encodeURIComponent(state.items[state.selected].id)}`);
      }
    },
  };
}

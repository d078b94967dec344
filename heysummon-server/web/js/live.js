// The expert's live event stream (GET /api/v1/events/stream with the session cookie). The
// browser's EventSource reconnects by itself and resumes from the last event id, so nothing is
// missed. Views subscribe; new requests raise a browser notification (when permitted) and the
// number of open requests shows in the tab title and the navigation.

import { api } from './api.js';
import { setOpenCount } from './dom.js';

const TYPES = [
  'new_request', 'new_notification', 'new_message', 'keys_exchanged', 'responded',
  'status_change', 'closed', 'cancelled', 'expired', 'notification_acknowledged',
];
const OPEN = 'pending,reviewing,active';

export class Live {
  constructor() {
    this.listeners = new Set();
    this.source = null;
    this.countTimer = null;
    this.retryTimer = null;
    this.retries = 0;
    this.stopped = false;
  }

  start() {
    if (this.source) return;
    this.stopped = false;
    const source = new EventSource('/api/v1/events/stream');
    this.source = source;
    for (const type of TYPES) {
      source.addEventListener(type, (message) => this.dispatch(type, message));
    }
    source.addEventListener('open', () => {
      this.retries = 0;
      this.recount();
    });
    // The browser retries a dropped connection by itself, but gives up for good on an HTTP
    // error (a 429, a proxy's 502 during a restart, an ended session). Then: ask who we are
    // (a 401 shows the sign-in page) and start again after a growing pause.
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED || this.source !== source) return;
      this.source = null;
      const pause = Math.min(30_000, 1000 * 2 ** (this.retries ?? 0)) * (0.5 + Math.random() / 2);
      this.retries = (this.retries ?? 0) + 1;
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(async () => {
        if (this.stopped) return;
        try {
          await api.get('/api/me');
          this.start();
          for (const listener of this.listeners) listener('reconnected', {});
        } catch { /* signed out: the app shows the sign-in page */ }
      }, pause);
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = null;
    this.setCount(0);
  }

  /** Calls `listener(type, data)` for every event; returns the unsubscribe function. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispatch(type, message) {
    let data = {};
    try { data = JSON.parse(message.data); } catch { /* keep-alives and unknown shapes */ }
    for (const listener of this.listeners) listener(type, data);
    if (type === 'new_request' || type === 'new_notification') notify(type, data);
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => this.recount(), 150);
  }

  async recount() {
    try {
      const page = await api.get(`/api/requests?status=${OPEN}&limit=200`);
      this.setCount(page.requests.length);
    } catch { /* the next event tries again */ }
  }

  setCount(count) {
    document.getElementById('open-count').textContent = count > 0 ? String(count) : '';
    setOpenCount(count);
  }
}

/** A system notification for a new request: its reference code and kind, never its text. */
function notify(type, data) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  const kind = type === 'new_notification' ? 'Notification' : 'New request';
  const note = new Notification(`${kind} ${data.refCode ?? ''}`.trim(), {
    body: 'Open HeySummon to read and answer it.',
    tag: data.requestId,
  });
  note.addEventListener('click', () => {
    window.focus();
    if (data.requestId) location.assign(`/requests/${encodeURIComponent(data.requestId)}`);
  });
}

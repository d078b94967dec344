// Building the page without markup: every string becomes a text node, so anything an agent
// wrote is shown as text and never parsed as HTML: no HTML-parsing sink anywhere in the
// dashboard (a test of the server checks every module).

/** Creates an element. `attrs`: attributes, `on*` listeners, `dataset`; children: nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), (event) => settle(value(event)));
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function age(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** A local date and time. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** Reports a failed action (a 401 has shown the sign-in page already). */
export function failed(error) {
  if (error?.status !== 401) toast(error?.message || 'Something went wrong.');
}

/** Listeners may be async: a rejection is reported, never left unhandled. */
function settle(result) {
  if (result && typeof result.then === 'function') result.then(null, failed);
}

let toastTimer;
/** A short message at the bottom of the screen, read out by screen readers. */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 3500);
}

/** Asks before doing something that cannot be undone; resolves to true when confirmed. */
export function confirmAction(text, label = 'Confirm') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = label;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-ok').focus();
  });
}

/** Whether a key press happened while typing (shortcuts stay out of the way). */
export function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

/** A status badge. */
export function badge(status, label = status) {
  return h('span', { class: `badge ${status}` }, label);
}

/** Offers text as a file download. */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

let pageTitle = 'HeySummon';
let openCount = 0;

/** The tab's title: the page's name, after the number of open requests when there are any. */
export function setPageTitle(name) {
  pageTitle = name ? `${name} · HeySummon` : 'HeySummon';
  renderTitle();
}

/** The number of open requests, for the tab's title. */
export function setOpenCount(count) {
  openCount = count;
  renderTitle();
}

function renderTitle() {
  document.title = openCount > 0 ? `(${openCount >= 200 ? '200+' : openCount}) ${pageTitle}` : pageTitle;
}

/**
 * Text an agent wrote, as it may be shown to a person (the same rule as the server's
 * `views::displayable`, for text only the browser can read): C0 and C1 control characters but
 * tab, line feed and carriage return, and the bidirectional embeddings, overrides and isolates
 * that reorder what a reader sees (U+202A–U+202E, U+2066–U+2069), become visible as `<U+XXXX>`.
 */
export function displayable(text) {
  return String(text).replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/gu,
    (c) => `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

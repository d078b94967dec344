// The dashboard's entry point: who is signed in, the routes (history API), the navigation,
// the theme, the global keyboard shortcuts and the live event stream.

import { ApiError, api, onSignedOut, setCsrfToken } from './api.js';
import { confirmAction, fill, h, setPageTitle, typing } from './dom.js';
import { Live } from './live.js';
import { showInbox } from './views/inbox.js';
import { showRequest } from './views/request.js';
import { showKeys } from './views/keys.js';
import { showSettings } from './views/settings.js';
import { showSignIn, useSignInLink } from './views/signin.js';

const main = document.getElementById('main');
const bar = document.querySelector('header.bar');
const ctx = { me: null, live: null, view: null, navigate, refreshMe };

/** Goes to a path of the dashboard without reloading. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path);
  else history.pushState({}, '', path);
  route();
}

async function refreshMe() {
  ctx.me = await api.get('/api/me');
  setCsrfToken(ctx.me.csrfToken);
  document.getElementById('who').textContent = ctx.me.expert.name;
  return ctx.me;
}

let turn = 0;

/**
 * Shows the page of the current URL. Only the latest navigation wins: a view that finishes
 * loading after another navigation began is left at once. A failed load shows what went wrong
 * (a 401 has shown the sign-in page already).
 */
async function route() {
  const mine = ++turn;
  ctx.view?.leave?.();
  ctx.view = null;
  try {
    const view = await show(location.pathname);
    if (mine !== turn) {
      view?.leave?.();
      return;
    }
    ctx.view = view ?? null;
    if (view) main.focus({ preventScroll: true });
  } catch (error) {
    if (mine !== turn || (error instanceof ApiError && error.status === 401)) return;
    setPageTitle('Error');
    fill(main, h('h1', {}, 'Something went wrong'),
      h('p', { class: 'error', role: 'alert' }, error.message || String(error)),
      h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to the inbox')));
  }
}

async function show(path) {
  if (path === '/signin') {
    // A link's token leaves the address bar (and the history) at once; a provider's refusal
    // (`?error=…`) stays for the sign-in page to explain.
    const token = location.hash.slice(1);
    if (!token) return signedOut();
    history.replaceState({}, '', '/signin');
    // Already signed in: a link (anybody's) never switches the browser to another expert
    // without asking.
    const current = await signedIn();
    if (current) {
      if (!(await confirmAction(
        `This browser is signed in as ${current.expert.name}. Sign out and use this link instead?`,
        'Switch'))) {
        navigate('/', { replace: true });
        return null;
      }
      // The old session ends (its stream too) before the link starts another.
      ctx.live?.stop();
      ctx.me = null;
      await fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': current.csrfToken } });
    }
    if (await useSignInLink(main, token)) navigate('/', { replace: true });
    return null;
  }
  if (!ctx.me) {
    await refreshMe();
    ctx.live ??= new Live();
    ctx.live.start();
  }
  bar.hidden = false;
  const section = path.startsWith('/keys') ? 'keys' : path.startsWith('/settings') ? 'settings' : 'inbox';
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const request = path.match(/^\/requests\/([^/]+)$/);
  if (request) return showRequest(main, ctx, decodeURIComponent(request[1]));
  if (section === 'keys') return showKeys(main, ctx);
  if (section === 'settings') return showSettings(main, ctx);
  return showInbox(main, ctx);
}

/** `GET /api/me` when this browser is signed in, else null (asked without leaving the page). */
async function signedIn() {
  try {
    const response = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function signedOut() {
  turn += 1; // whatever was loading is stale now
  ctx.me = null;
  ctx.live?.stop();
  ctx.view?.leave?.();
  ctx.view = null;
  bar.hidden = true;
  setPageTitle('Sign in');
  if (location.pathname !== '/signin') history.replaceState({}, '', '/signin');
  showSignIn(main);
}
onSignedOut.handler = signedOut;

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

document.getElementById('theme-toggle').addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme === 'dark' ||
    (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
  const theme = dark ? 'light' : 'dark';
  localStorage.setItem('hs-theme', theme);
  applyTheme(theme);
});
applyTheme(localStorage.getItem('hs-theme'));

// Links inside the dashboard navigate without a reload.
document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-link]') : null;
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
addEventListener('popstate', route);

let pendingG = false;
document.addEventListener('keydown', (event) => {
  if (document.querySelector('dialog[open]')) return;
  if (typing(event)) {
    // Escape leaves a text field, so the shortcuts work again.
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !ctx.me) return;
  if (pendingG) {
    pendingG = false;
    const target = { i: '/', k: '/keys', s: '/settings' }[event.key];
    if (target) { event.preventDefault(); navigate(target); }
    return;
  }
  if (event.key === 'g') { pendingG = true; return; }
  if (event.key === '?') { event.preventDefault(); document.getElementById('help').showModal(); return; }
  ctx.view?.key?.(event);
});

export { ctx };
route();

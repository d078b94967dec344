// Settings: the expert's name, browser notifications, notification channels
// (views/channels.js), sessions (sign out one, or everywhere).

import { api, seg } from '../api.js';
import { confirmAction, fill, h, setPageTitle, toast, when } from '../dom.js';
import { channelsSection } from './channels.js';

export async function showSettings(main, ctx) {
  setPageTitle('Settings');
  const name = h('input', { id: 'name', value: ctx.me.expert.name, maxlength: 100, required: true });
  const sessions = h('tbody', {});
  const permission = h('span', { id: 'notify-state', class: 'muted' });
  const channels = channelsSection(ctx);
  fill(main,
    h('h1', {}, 'Settings'),
    h('section', { class: 'panel', 'aria-labelledby': 'profile-title' },
      h('h2', { id: 'profile-title' }, 'Profile'),
      h('form', { onsubmit: rename },
        h('label', { for: 'name' }, 'Name'),
        h('div', { class: 'row' }, name, h('button', { type: 'submit' }, 'Save')))),
    h('section', { class: 'panel', 'aria-labelledby': 'notify-title' },
      h('h2', { id: 'notify-title' }, 'Browser notifications'),
      h('p', { class: 'muted' }, 'Get a system notification when a request arrives while this tab is in the background.'),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'ghost', id: 'notify', onclick: askPermission }, 'Allow notifications'),
        permission)),
    channels.element,
    h('section', { class: 'panel', 'aria-labelledby': 'sessions-title' },
      h('h2', { id: 'sessions-title' }, 'Sessions'),
      h('div', { class: 'table' }, h('table', {}, h('thead', {}, h('tr', {},
        h('th', {}, 'Browser'), h('th', { class: 'optional' }, 'Signed in'), h('th', {}, 'Last active'),
        h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))), sessions)),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'ghost', id: 'logout', onclick: logout }, 'Sign out'),
        h('button', { type: 'button', class: 'bad', id: 'logout-everywhere', onclick: everywhere }, 'Sign out everywhere'))),
  );
  showPermission();

  async function loadSessions() {
    const { sessions: list } = await api.get('/api/sessions');
    fill(sessions, list.map((s) => h('tr', {},
      h('td', { title: s.userAgent ?? '' }, browserName(s.userAgent), s.current ? h('strong', {}, ' (this browser)') : null),
      h('td', { class: 'optional' }, when(s.createdAt)),
      h('td', {}, when(s.lastSeenAt)),
      h('td', {}, s.current ? null : h('button', {
        type: 'button', class: 'ghost', 'aria-label': `End session from ${when(s.createdAt)}`,
        onclick: async () => { await api.del(`/api/sessions/${seg(s.id)}`); toast('Session ended'); loadSessions(); },
      }, 'End')))));
  }

  async function rename(event) {
    event.preventDefault();
    try {
      ctx.me = await api.patch('/api/me', { name: name.value });
      document.getElementById('who').textContent = ctx.me.expert.name;
      toast('Saved');
    } catch (error) {
      toast(error.message);
    }
  }

  function showPermission() {
    permission.textContent = 'Notification' in window ? `Currently: ${Notification.permission}` : 'Not supported by this browser';
  }

  async function askPermission() {
    if ('Notification' in window) await Notification.requestPermission();
    showPermission();
  }

  async function logout() {
    await api.post('/auth/logout');
    location.assign('/signin');
  }

  async function everywhere() {
    if (!(await confirmAction('Sign out of every browser, this one included?', 'Sign out everywhere'))) return;
    await api.del('/api/sessions');
    location.assign('/signin');
  }

  try {
    await Promise.all([loadSessions(), channels.load()]);
  } catch (error) {
    channels.leave();
    throw error;
  }
  return { leave: channels.leave };
}

/** "Chrome 126 on macOS" from a User-Agent header; the whole header is the cell's title. */
export function browserName(userAgent) {
  if (!userAgent) return 'Unknown browser';
  const found = (patterns) => patterns.find(([, pattern]) => pattern.test(userAgent));
  const browser = found([
    ['Edge', /Edg(?:e|A|iOS)?\/(\d+)/], ['Opera', /OPR\/(\d+)/], ['Firefox', /(?:Firefox|FxiOS)\/(\d+)/],
    ['Chrome', /(?:Chrome|CriOS)\/(\d+)/], ['Safari', /Version\/(\d+).*Safari/],
  ]);
  const system = found([
    ['Android', /Android/], ['iOS', /iPhone|iPad|iPod/], ['Windows', /Windows/], ['macOS', /Mac OS X/],
    ['ChromeOS', /CrOS/], ['Linux', /Linux/],
  ]);
  const name = browser ? `${browser[0]} ${userAgent.match(browser[1])[1]}` : userAgent.split(' ')[0].split('/')[0] || 'Unknown browser';
  return system ? `${name} on ${system[0]}` : name;
}

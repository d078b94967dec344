// Signing in: a one-time link from the command line (its token arrives in the URL's fragment,
// which browsers never send to a server) or a configured sign-in provider.

import { ApiError, api } from '../api.js';
import { fill, h } from '../dom.js';

/** Uses a sign-in link's token; true when signed in. */
export async function useSignInLink(main, token) {
  fill(main, h('section', { class: 'panel signin' }, h('p', {}, 'Signing you in…')));
  try {
    await api.post('/auth/link', { token });
    return true;
  } catch (error) {
    showSignIn(main, error instanceof ApiError && error.code === 'LINK_INVALID'
      ? 'This sign-in link has been used already or has expired. Ask for a new one.'
      : `Signing in failed: ${error.message}`);
    return false;
  }
}

/** The sign-in page, with the providers the server offers. */
export async function showSignIn(main, problem) {
  const providers = h('div', { class: 'row', id: 'providers' });
  const hint = h('p', { class: 'muted' }, 'Ask your administrator for a one-time sign-in link:');
  const params = new URLSearchParams(location.search);
  const refused = params.get('error');
  fill(main, h('section', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to HeySummon'),
    problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
    refused ? h('p', { class: 'error', role: 'alert' }, refusedText(refused)) : null,
    providers,
    hint,
    h('pre', { class: 'secret' }, 'heysummon-server expert login-link EXPERT_ID'),
  ));
  const list = await api.get('/auth/providers').then((answer) => answer.providers, () => []);
  if (list.length === 0) {
    providers.remove();
    return;
  }
  fill(providers, list.map((p) =>
    h('a', { class: 'button', href: `/auth/login/${encodeURIComponent(p.id)}` }, `Sign in with ${p.name}`)));
  hint.textContent = 'Or ask your administrator for a one-time sign-in link:';
}

function refusedText(code) {
  if (code === 'not_linked') return 'That account is not linked to an expert here.';
  return 'Signing in did not complete. Please try again.';
}

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
  const params = new URLSearchParams(location.search);
  const refused = params.get('error');
  fill(main, h('section', { class: 'panel signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to HeySummon'),
    problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
    refused ? h('p', { class: 'error', role: 'alert' }, refusedText(refused)) : null,
    providers,
    h('p', { class: 'muted' }, 'Or ask your administrator for a one-time sign-in link:'),
    h('pre', { class: 'secret' }, 'heysummon-server expert login-link EXPERT_ID'),
  ));
  try {
    const { providers: list } = await api.get('/auth/providers');
    fill(providers, list.map((p) =>
      h('a', { class: 'button', href: `/auth/login/${encodeURIComponent(p.id)}` }, `Sign in with ${p.name}`)));
  } catch {
    providers.remove();
  }
}

function refusedText(code) {
  if (code === 'not_linked') return 'That account is not linked to an expert here.';
  return 'Signing in did not complete. Please try again.';
}

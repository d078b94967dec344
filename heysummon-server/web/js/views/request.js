// One request: the question and the whole conversation, opened in the browser for sealed and
// key-exchanged requests; reply (encrypted to the agent's key when it has one), approve or
// deny, acknowledge a notification, close; its audit trail. Updated live. Agent text is only
// ever text.

import { api, seg } from '../api.js';
import { confirmAction, displayable, fill, h, setPageTitle, toast, typing, when } from '../dom.js';
import { statusBadge } from './inbox.js';
import { auditSection } from './audit.js';
import { agentHasKeys, endToEnd, messageKind, openMessage, sealReply } from '../conversation.js';
import { loadIdentity } from '../keystore.js';
import { decisionBody } from '../decision.js';

const ENDED = ['closed', 'expired', 'cancelled', 'acknowledged'];

export async function showRequest(main, ctx, id) {
  const identity = await loadIdentity(ctx.me.expert.id).catch(() => null);
  let page;
  let busy = false;
  let replyBox = null;

  async function load() {
    page = await api.get(`/api/requests/${seg(id)}`);
    await render();
  }

  async function render() {
    const request = page.request;
    setPageTitle(request.refCode);
    const opened = await Promise.all(page.messages.map((m) => describe(m)));
    const ended = ENDED.includes(request.status);
    const question = request.sealed ? opened.find((m) => m.from === 'consumer') : null;
    // A live update redraws the page: the draft of a reply (and its focus) survives it.
    const previous = replyBox;
    const typingHere = previous !== null && document.activeElement === previous;
    replyBox = h('textarea', { id: 'reply', 'aria-label': 'Your reply', placeholder: 'Write a reply…' });
    replyBox.value = previous?.value ?? '';
    fill(main,
      h('p', {}, h('a', { href: '/', 'data-link': true }, '← Inbox')),
      h('h1', {}, h('span', { class: 'mono' }, request.refCode), ' ', statusBadge(request)),
      h('section', { class: 'panel' },
        h('dl', { class: 'facts' },
          h('dt', {}, 'Kind'), h('dd', { id: 'kind' }, request.kind),
          h('dt', {}, 'From'), h('dd', {}, request.clientKeyName ?? 'unnamed key'),
          h('dt', {}, 'Asked'), h('dd', {}, when(request.createdAt)),
          h('dt', {}, 'Expires'), h('dd', {}, when(request.expiresAt)),
          h('dt', {}, 'Encryption'), h('dd', { id: 'encryption' }, encryptionOf(page, request)),
        ),
        h('h2', {}, { notification: 'Notification', approval: 'Approval requested' }[request.kind] ?? 'Question'),
        h('div', { class: request.sealed && !question?.text ? 'question unread' : 'question', id: 'question' },
          request.sealed ? (question?.text ?? question?.failure ?? 'No sealed question found.') : (request.question ?? '')),
        request.sealed || page.action === undefined || page.action === null ? null : h('div', {},
          h('h3', {}, 'Action'),
          h('pre', { class: 'action', id: 'action' }, displayable(JSON.stringify(page.action, null, 2)))),
        request.approvalDecision ? h('p', { class: 'muted', id: 'decision-signed' },
          page.decisionSigned ? 'The decision is signed with the expert\'s key.' : 'The decision is not signed.') : null,
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'conversation-title' },
        h('h2', { id: 'conversation-title' }, 'Conversation'),
        h('ol', { class: 'conversation', id: 'conversation' },
          opened.filter((m) => m !== question).map((m) =>
            h('li', { class: `message ${m.from}${m.failure ? ' failed' : ''}` },
              h('span', { class: 'who muted' }, `${m.from === 'expert' ? 'You' : 'Agent'} · ${when(m.createdAt)}`),
              h('div', { class: 'text' }, m.text ?? m.failure)))),
        opened.length <= (question ? 1 : 0) ? h('p', { class: 'muted' }, 'No messages yet.') : null,
      ),
      ended ? h('p', { class: 'muted' }, `This request is ${request.status}.`) : actions(request),
      auditSection(id, ctx.me.expert.id),
    );
    if (typingHere && replyBox.isConnected) {
      replyBox.focus();
      replyBox.setSelectionRange(previous.selectionStart, previous.selectionEnd);
    }
  }

  function encryptionOf(conversation, request) {
    if (request.sealed) return 'Sealed end to end to your published key';
    if (agentHasKeys(conversation)) return 'End to end (key exchange)';
    if (conversation.consumerEncryptPubKey) return 'Plaintext: the agent sent no usable keys (the server can read it)';
    return 'Plaintext (the server can read it)';
  }

  async function describe(message) {
    const base = { from: message.from, createdAt: message.createdAt };
    const kind = messageKind(message);
    if (kind.type === 'plaintext') return { ...base, text: kind.text };
    if (kind.type === 'decision') return { ...base, text: kind.decision === 'approved' ? 'Approved' : 'Denied' };
    if (!identity) return { ...base, failure: 'Encrypted. Set up your keys (Keys page) to read it.' };
    try {
      return { ...base, text: displayable(await openMessage(identity, page, message)) };
    } catch {
      return { ...base, failure: 'This message could not be authenticated with your keys.' };
    }
  }

  function actions(request) {
    const parts = [];
    const closeButton = h('button', { type: 'button', class: 'ghost push', id: 'close', onclick: close }, 'Close request');
    if (request.kind === 'approval' && !request.approvalDecision) {
      parts.push(h('div', { class: 'row' },
        h('button', { type: 'button', class: 'ok', id: 'approve', onclick: () => decide('approved') }, 'Approve'),
        h('button', { type: 'button', class: 'bad', id: 'deny', onclick: () => decide('denied') }, 'Deny')));
    }
    if (request.kind === 'notification') {
      // Acknowledging ends a notification; there is nothing to close.
      parts.push(h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'acknowledge', onclick: acknowledge }, 'Acknowledge')));
    } else {
      const needsKeys = agentHasKeys(page) && !identity;
      parts.push(h('form', { id: 'reply-form', onsubmit: (event) => { event.preventDefault(); reply(replyBox); } },
        h('label', { for: 'reply' }, 'Reply'),
        needsKeys ? h('p', { class: 'notice' }, 'Replies to this agent are end-to-end encrypted: ',
          h('a', { href: '/keys', 'data-link': true }, 'set up your keys'), ' first.') : null,
        replyBox,
        h('div', { class: 'actions' }, closeButton,
          h('button', { type: 'submit', id: 'send', disabled: needsKeys }, 'Send reply'))));
    }
    return h('section', { class: 'panel', 'aria-label': 'Answer' }, parts);
  }

  async function act(label, work) {
    if (busy) return;
    busy = true;
    try {
      await work();
      toast(label);
      await load();
    } catch (error) {
      toast(error.message);
    } finally {
      busy = false;
    }
  }

  async function decide(decision) {
    const ok = await confirmAction(
      decision === 'approved' ? 'Approve this request? The agent will go ahead.' : 'Deny this request?',
      decision === 'approved' ? 'Approve' : 'Deny');
    if (!ok) return;
    await act(decision === 'approved' ? 'Approved' : 'Denied', async () => {
      // A sealed request's action is in its sealed question: an action panel beside it would
      // be the server's word, so it is neither shown nor signed.
      const action = page.request.sealed ? undefined : page.action;
      const body = await decisionBody(identity, ctx.me.publishedKeys?.fingerprint,
        { requestId: id, decision, action, actionHash: page.actionHash });
      return api.post(`/api/v1/approve/${seg(id)}`, body);
    });
  }

  async function acknowledge() {
    await act('Acknowledged', () => api.post(`/api/v1/acknowledge/${seg(id)}`));
  }

  async function close() {
    if (!(await confirmAction('Close this request? Nobody can answer it afterwards.', 'Close'))) return;
    await act('Closed', () => api.post(`/api/v1/close/${seg(id)}`));
  }

  async function reply(box) {
    const text = box.value;
    if (!text.trim()) return toast('Write a reply first.');
    await act('Reply sent', async () => {
      let body = { from: 'expert', plaintext: text };
      if (endToEnd(page)) {
        if (!agentHasKeys(page)) {
          throw new Error('This conversation is end to end, but the agent\'s keys are not usable: no reply is sent in plaintext.');
        }
        if (!page.expertEncryptPubKey) {
          await api.post(`/api/v1/key-exchange/${seg(id)}`, {
            signPublicKey: identity.sign.publicSpkiHex,
            encryptPublicKey: identity.encrypt.publicSpkiHex,
          });
          page = await api.get(`/api/requests/${seg(id)}`);
        }
        body = { from: 'expert', ...(await sealReply(identity, page, text)) };
      }
      await api.post(`/api/v1/message/${seg(id)}`, body);
      box.value = '';
    });
  }

  const unsubscribe = ctx.live.subscribe((type, data) => {
    if (data.requestId === id && !busy) load().catch(() => {});
  });
  try {
    await load();
  } catch (error) {
    if (error.status === 401) { // signed out: the sign-in page shows
      unsubscribe();
      throw error;
    }
    const missing = error.status === 404;
    fill(main, h('p', {}, h('a', { href: '/', 'data-link': true }, '← Inbox')),
      h('h1', {}, missing ? 'Request not found' : 'The request could not be loaded'),
      h('p', { class: 'muted' }, missing ? 'There is no such request among yours.' : error.message));
  }
  return {
    leave: unsubscribe,
    key(event) {
      if (typing(event)) return;
      if (event.key === 'Escape' || event.key === 'u') { event.preventDefault(); ctx.navigate('/'); }
      else if (event.key === 'r') { const box = document.getElementById('reply'); if (box) { event.preventDefault(); box.focus(); } }
      else if (event.key === 'a' && document.getElementById('approve')) { event.preventDefault(); decide('approved'); }
      else if (event.key === 'd' && document.getElementById('deny')) { event.preventDefault(); decide('denied'); }
    },
  };
}

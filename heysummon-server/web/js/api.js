// The public API, same origin, with the session cookie. State-changing calls carry the
// session's CSRF token (from GET /api/me). Errors become ApiError with the server's sentence
// (and its `details`, when it gives any).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.details = body?.details;
  }
}

let csrfToken = '';

/** Remembers the CSRF token of the session. */
export function setCsrfToken(token) {
  csrfToken = token ?? '';
}

/** Called when the session has ended (401): the app shows the sign-in page. */
export const onSignedOut = { handler: () => {} };

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (response.status === 401 && !path.startsWith('/auth/')) onSignedOut.handler(error);
    throw error;
  }
  return parsed;
}

export const api = {
  get: (path) => call('GET', path),
  post: (path, body = {}) => call('POST', path, body),
  put: (path, body = {}) => call('PUT', path, body),
  patch: (path, body = {}) => call('PATCH', path, body),
  del: (path) => call('DELETE', path),
};

/** Path segment encoding for ids taken from the page's URL. */
export const seg = (value) => encodeURIComponent(String(value));

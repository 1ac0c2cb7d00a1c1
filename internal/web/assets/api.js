// The API as the dashboard uses it: same-origin requests that carry the session cookie (the
// browser adds it), with the session's CSRF token on every request that may change
// something, and the server's event streams.

export const session = { role: '', csrf: '' };

// ApiError is a non-2xx answer: its status and the API's stable code and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when the session is gone (expired, logged out elsewhere,
// server restarted): the shell shows the login form again.
export function onUnauthorized(fn) { unauthorized = fn; }

async function errorOf(resp) {
  let code = 'http_' + resp.status;
  let message = resp.status + ' ' + resp.statusText;
  try {
    const body = await resp.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(resp.status, code, message);
}

// api calls the API and returns its JSON (null for 204). A 401 ends the session.
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) h['X-CSRF-Token'] = session.csrf;
  const resp = await fetch(path, { method, body, headers: h, credentials: 'same-origin', cache: 'no-store' });
  if (!resp.ok) {
    const err = await errorOf(resp);
    if (resp.status === 401) unauthorized(err.message);
    throw err;
  }
  return resp.status === 204 ? null : resp.json();
}

// loadSession asks whether the browser's cookie names a live session. Over the unix socket
// every request is the admin's, so a server that answers whoami without a session is
// trusted with no login (and needs no CSRF token there).
export async function loadSession() {
  const resp = await fetch('/ui/session', { credentials: 'same-origin', cache: 'no-store' });
  if (resp.ok) {
    const s = await resp.json();
    session.role = s.role;
    session.csrf = s.csrf_token;
    return true;
  }
  const who = await fetch('/api/v1/whoami', { credentials: 'same-origin', cache: 'no-store' });
  if (who.ok) {
    session.role = (await who.json()).role;
    session.csrf = '';
    return true;
  }
  return false;
}

// login posts the token; the server answers with the session cookie and the CSRF token.
export async function login(token) {
  const resp = await fetch('/ui/login', {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  if (!resp.ok) throw await errorOf(resp);
  const s = await resp.json();
  session.role = s.role;
  session.csrf = s.csrf_token;
}

export async function logout() {
  const headers = session.csrf ? { 'X-CSRF-Token': session.csrf } : {};
  await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin', headers });
  session.role = '';
  session.csrf = '';
}

// isRunNotice tells a pipeline run's notice from a deployment's: its deployment field is the
// run's ID (web-run-3) and its message starts "pipeline run".
export function isRunNotice(n) {
  return /-run-\d+$/.test(n.deployment || '') && /^pipeline run /.test((n.event && n.event.message) || '');
}

// stream follows a server-sent event stream of notices. onState receives 'live' or
// 'reconnecting'; the browser reconnects by itself. When the stream fails while the session
// has gone, the shell hears of it through the next API call. It returns a function that
// closes the stream.
export function stream(path, onNotice, { onState = () => {}, onOpen = () => {} } = {}) {
  const es = new EventSource(path, { withCredentials: true });
  es.onopen = () => { onState('live'); onOpen(); };
  es.onerror = () => {
    onState(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      // A refused stream (401 after the session ended) is not retried by the browser.
      api('/api/v1/whoami').catch(() => {});
    }
  };
  es.onmessage = (msg) => {
    let n;
    try { n = JSON.parse(msg.data); } catch { return; }
    onNotice(n);
  };
  return () => es.close();
}

// The server's API: every request carries `Authorization: Bearer <token>` (the token is kept in
// sessionStorage); the server decides what the caller may see. An error answer
// (`{error, message, field}`) becomes an ApiError; a 401 forgets the token and goes to sign-in.

const TOKEN_KEY = 'dangjian.token';

export class ApiError extends Error {
  constructor(status, key, message, field) {
    super(message || key || `HTTP ${status}`);
    this.status = status;
    this.key = key || `http_${status}`;
    this.field = field;
  }
}

/** The signed-in caller: the token, and `me` (whoami's answer) once asked. */
export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(t) { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); },
  me: null,
};

/** JSON of `path` (or the Response with `raw`); `signingIn`: a 401 is the caller's to show. */
export async function api(path, { method = 'GET', body, headers = {}, raw = false, signingIn = false } = {}) {
  const res = await fetch(path, {
    method,
    body,
    headers: { Authorization: `Bearer ${session.token}`, ...headers },
  });
  if (res.status === 401 && !signingIn) {
    session.token = null;
    session.me = null;
    const err = await readError(res);
    location.hash = '#/signin?expired=1';
    throw err;
  }
  if (!res.ok) throw await readError(res);
  if (raw) return res;
  return res.json();
}
async function readError(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (body && typeof body === 'object') return new ApiError(res.status, body.error, body.message, body.field);
  return new ApiError(res.status, null, `服务器返回 ${res.status}`);
}

/** Who the token is (name, role, scope), asked once per session. */
export async function whoami(signingIn = false) {
  if (session.me) return session.me;
  const me = await api('/api/v1/whoami', { signingIn });
  // The server names the scope `scope`; accept `org` too.
  me.scope = me.scope || me.org;
  // The server's clock is the page's: a server pinned to a day (clock.today) shows the
  // same ages and default periods on any machine.
  const serverMs = Date.parse(me.now || '');
  session.skewMs = Number.isNaN(serverMs) ? 0 : serverMs - Date.now();
  session.me = me;
  return me;
}

/** Now by the server's clock (see whoami), in milliseconds. */
export function serverNow() {
  return Date.now() + (session.skewMs || 0);
}

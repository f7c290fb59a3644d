// Getting authorization codes from the local test servers with plain fetch, and a tiny fake
// Matrix homeserver, for the backend-helper tests (tests/node/server.test.mjs,
// tests/workerd/handler.test.mjs).
import { createServer } from 'node:http';

/** Seed 002 provider: GET /authorize auto-approves; returns { code, state, scope }. */
export async function seed002Code(p, { redirectUri, state = 'st-002', scope = 'openid profile email' }) {
  const u = new URL(p.authorizationEndpoint);
  for (const [k, v] of Object.entries({ client_id: p.clientId, state, redirect_uri: redirectUri, response_type: 'code', scope })) {
    u.searchParams.set(k, v);
  }
  const res = await fetch(u, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`seed 002 /authorize answered ${res.status}`);
  const cb = new URL(res.headers.get('location'));
  return { code: cb.searchParams.get('code'), state: cb.searchParams.get('state'), scope: cb.searchParams.get('scope') };
}

/** Dev console (seed 000): loads the authz page and allows; returns { code, state }. */
export async function consoleCode(c, { tenantId = 't1', extensionId = 'ext1', state = 'st-000' } = {}) {
  const page = await fetch(c.authzUrl(tenantId, extensionId, state));
  if (page.status !== 200) throw new Error(`console authz page answered ${page.status}`);
  const html = await page.text();
  const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]+)"`))[1];
  // Older console versions double-submit the CSRF token in a cookie as well.
  const cookie = page.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ');
  const res = await fetch(new URL(new URL(c.authzUrl(tenantId, extensionId)).pathname, c.localUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams({ interaction: field('interaction'), csrf: field('csrf'), user: field('user'), decision: 'allow' }),
  });
  if (res.status !== 302) throw new Error(`console authz POST answered ${res.status}`);
  const cb = new URL(res.headers.get('location'));
  return { code: cb.searchParams.get('code'), state: cb.searchParams.get('state') };
}

/**
 * A fake Matrix homeserver (Client-Server API `/_matrix/client/v3/login` only) on 127.0.0.1.
 * `flows` is what GET answers; POST accepts the login tokens in `tokens` once each.
 * `requests` records every request: { method, path, headers, body }.
 */
export async function startFakeHomeserver({ flows = [{ type: 'm.login.sso' }, { type: 'm.login.token' }], tokens = {} } = {}) {
  const requests = [];
  const used = new Set();
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    requests.push({ method: req.method, path: req.url, headers: { ...req.headers }, body });
    const send = (status, obj) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (req.url !== '/_matrix/client/v3/login') return send(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    if (req.method === 'GET') return send(200, { flows });
    if (req.method !== 'POST') return send(405, { errcode: 'M_UNRECOGNIZED', error: 'method' });
    let login;
    try { login = JSON.parse(body); } catch { return send(400, { errcode: 'M_NOT_JSON', error: 'Content not JSON.' }); }
    if (login.type !== 'm.login.token') return send(400, { errcode: 'M_UNKNOWN', error: 'Unknown login type' });
    const user = tokens[login.token];
    if (!user || used.has(login.token)) return send(403, { errcode: 'M_FORBIDDEN', error: 'Invalid login token' });
    used.add(login.token);
    return send(200, {
      user_id: user,
      access_token: `syt_${Buffer.from(user).toString('base64url')}_secret`,
      device_id: login.device_id ?? 'GHTYAJCE',
      home_server: 'matrix.example',
      well_known: { 'm.homeserver': { base_url: `http://127.0.0.1:${server.address().port}/` } },
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** A port on 127.0.0.1 where nothing listens (connection refused). */
export async function closedPort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

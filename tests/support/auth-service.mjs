// A stand-in for the Mia-Platform Authentication Service (seed 004, "Integrate an external Identity
// Provider but manage session and user groups within your project") on 127.0.0.1, in front of a
// real OpenID Provider (tests/support/oidc.mjs). It follows the seed's flow to the letter:
//
//   1. GET  /authorize?appId&providerId&redirect  → 302 to the provider's authUrl with a `state`
//      the service generates and stores (with appId, providerId and redirect); the three query
//      parameters are all required.
//   2. The IdP sends the browser to the provider's `redirectUrl`, the web-login callback page
//      (`https://<MY-HOST>/web-login/oauth/callback`, served by the test's extension site and
//      played by ExtensionClient), which POSTs `{ state, code }` in the request BODY (JSON; a form
//      body is accepted too) to
//      POST /oauth/token → checks the state (known, unexpired, one-time), exchanges the code at the
//      provider's tokenUrl (client_secret_basic, redirect_uri = redirectUrl), reads id/name/email
//      from its userInfoUrl, merges `groups` (defaultGroups: the CRUD collection is out of scope)
//      and answers 200 with `Location: <redirect given to /authorize>` and
//      `Set-Cookie: sid=<JWT>; Path=/; HttpOnly; SameSite=Lax` (isWebsiteApp: true). The JWT is
//      HS256, signed by the service, with claims id, name, email, groups, iat, exp. No body.
//   3. GET  /userinfo with the sid cookie → 200 JSON claims of the token (id, name, email,
//      groups); 401 without a valid, unexpired cookie.
//   Also GET /logout (clears the cookie, 204) and OPTIONS preflights.
//
// CORS: requests from `allowedOrigins` get Access-Control-Allow-Origin = that origin,
// Allow-Credentials: true and Expose-Headers: Location; other origins get no CORS headers.
//
// Cookies and sites: `sid` is SameSite=Lax and host-only (no Domain), set on the service's host.
// The browser sends it back (and accepts it from a credentialed fetch) only when the page and the
// service are SAME-SITE: in the tests both run on http://127.0.0.1 with different ports (a site
// ignores the port), as in production where the service sits behind the same API gateway as the
// extension. A service on another site would need SameSite=None; Secure, and browsers that block
// third-party cookies would still drop it.
//
//   const as = await startAuthService({
//     idp: { issuer: op.issuer, clientId, clientSecret },
//     apps: { myApp: { providers: { oidc: { redirectUrl: `${pageOrigin}/web-login/oauth/callback` } } } },
//     allowedOrigins: [pageOrigin],
//   });
//   as.url; as.requests (every request: { method, path, origin, body }); await as.close();
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

const STATE_TTL_MS = 10 * 60 * 1000;
const MAX_BODY = 16 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(Object.assign(new Error('body too large'), { status: 413 })); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseCookies(header = '') {
  const out = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * @param {object} o
 * @param {{ issuer: string, clientId: string, clientSecret: string }} [o.idp]  defaults for every
 *   provider: authUrl `${issuer}/auth`, tokenUrl `${issuer}/token`, userInfoUrl `${issuer}/me`,
 *   clientId, clientSecret.
 * @param {Record<string, { providers: Record<string, object> }>} o.apps  the configmap's `apps`:
 *   each provider may set type, clientId, clientSecret, authUrl, tokenUrl, userInfoUrl,
 *   redirectUrl (required), scope (array, default ['openid', 'email', 'profile']),
 *   isWebsiteApp (default true), defaultGroups (default []).
 * @param {string[]} [o.allowedOrigins=[]]  CORS origins (the extension pages)
 * @param {number} [o.sessionTtlSec=3600]
 * @param {boolean} [o.secureCookie=false]  add `Secure` to the cookie (https deployments)
 * @param {number} [o.port=0]
 * @param {string} [o.host='127.0.0.1']
 */
export async function startAuthService({
  idp,
  apps,
  allowedOrigins = [],
  sessionTtlSec = 3600,
  secureCookie = false,
  port = 0,
  host = '127.0.0.1',
} = {}) {
  const secret = randomBytes(32);
  const states = new Map(); // state → { appId, providerId, redirect, createdAt }
  const requests = [];
  const providerOf = (appId, providerId) => {
    const p = apps?.[appId]?.providers?.[providerId];
    if (!p) return null;
    const issuer = idp?.issuer?.replace(/\/$/, '');
    return {
      type: 'oidc',
      clientId: idp?.clientId,
      clientSecret: idp?.clientSecret,
      authUrl: issuer && `${issuer}/auth`,
      tokenUrl: issuer && `${issuer}/token`,
      userInfoUrl: issuer && `${issuer}/me`,
      scope: ['openid', 'email', 'profile'],
      isWebsiteApp: true,
      defaultGroups: [],
      ...p,
    };
  };

  const cors = (req) => {
    const origin = req.headers.origin;
    if (!origin || !allowedOrigins.includes(origin)) return { vary: 'Origin' };
    return {
      vary: 'Origin',
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'Location',
    };
  };
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
      .end(JSON.stringify(body));
  };

  async function sessionClaims(req) {
    const sid = parseCookies(req.headers.cookie).sid;
    if (!sid) return null;
    try {
      const { payload } = await jwtVerify(sid, secret, { algorithms: ['HS256'], issuer: 'auth-service' });
      return payload;
    } catch {
      return null;
    }
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://service.invalid');
    const entry = { method: req.method, path: url.pathname, origin: req.headers.origin ?? null, body: null };
    requests.push(entry);

    if (req.method === 'OPTIONS') {
      const h = cors(req);
      if (!h['access-control-allow-origin']) { res.writeHead(403, h).end(); return; }
      res.writeHead(204, {
        ...h,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      }).end();
      return;
    }

    if (req.method === 'GET' && url.pathname === '/authorize') {
      const appId = url.searchParams.get('appId');
      const providerId = url.searchParams.get('providerId');
      const redirect = url.searchParams.get('redirect');
      if (!appId || !providerId || !redirect) {
        json(res, 400, { error: 'appId, providerId and redirect are required' });
        return;
      }
      const p = providerOf(appId, providerId);
      if (!p) { json(res, 400, { error: 'unknown appId or providerId' }); return; }
      const state = randomBytes(24).toString('base64url');
      states.set(state, { appId, providerId, redirect, createdAt: Date.now() });
      const to = new URL(p.authUrl);
      to.searchParams.set('client_id', p.clientId);
      to.searchParams.set('response_type', 'code');
      to.searchParams.set('redirect_uri', p.redirectUrl);
      to.searchParams.set('scope', p.scope.join(' '));
      to.searchParams.set('state', state);
      res.writeHead(302, { location: to.href, 'cache-control': 'no-store' }).end();
      return;
    }

    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      const h = cors(req);
      const raw = await readBody(req);
      let body;
      if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        body = Object.fromEntries(new URLSearchParams(raw));
      } else {
        try { body = JSON.parse(raw); } catch { body = null; }
      }
      entry.body = body;
      if (!body || typeof body.state !== 'string' || typeof body.code !== 'string') {
        json(res, 400, { error: 'state and code are required in the body' }, h);
        return;
      }
      const flow = states.get(body.state);
      states.delete(body.state); // one-time, also when the rest fails
      if (!flow || Date.now() - flow.createdAt > STATE_TTL_MS) {
        json(res, 401, { error: 'invalid state' }, h);
        return;
      }
      const p = providerOf(flow.appId, flow.providerId);
      const basic = Buffer.from(`${encodeURIComponent(p.clientId)}:${encodeURIComponent(p.clientSecret)}`).toString('base64');
      const tokenAnswer = await fetch(p.tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: body.code, redirect_uri: p.redirectUrl }),
      });
      const tokens = await tokenAnswer.json().catch(() => ({}));
      if (!tokenAnswer.ok || !tokens.access_token) {
        json(res, 401, { error: 'the identity provider refused the code' }, h);
        return;
      }
      const infoAnswer = await fetch(p.userInfoUrl, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' } });
      const info = await infoAnswer.json().catch(() => ({}));
      if (!infoAnswer.ok || !info.sub) {
        json(res, 502, { error: 'could not read the user info from the identity provider' }, h);
        return;
      }
      // id, name and email come from the IdP; the rest (groups) from the project's CRUD collection.
      const claims = { id: info.sub, name: info.name ?? info.sub, email: info.email ?? null, groups: [...p.defaultGroups] };
      const sid = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('auth-service')
        .setSubject(info.sub)
        .setIssuedAt()
        .setExpirationTime(`${sessionTtlSec}s`)
        .sign(secret);
      const cookie = [`sid=${sid}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${sessionTtlSec}`];
      if (secureCookie) cookie.push('Secure');
      const headers = { ...h, 'cache-control': 'no-store', location: flow.redirect };
      if (p.isWebsiteApp) headers['set-cookie'] = cookie.join('; ');
      res.writeHead(200, headers).end();
      return;
    }

    if (req.method === 'GET' && url.pathname === '/userinfo') {
      const h = cors(req);
      const claims = await sessionClaims(req);
      if (!claims) { json(res, 401, { error: 'not logged in' }, h); return; }
      const { id, name, email, groups } = claims;
      json(res, 200, { id, name, email, groups }, h);
      return;
    }

    if (req.method === 'GET' && url.pathname === '/logout') {
      res.writeHead(204, { ...cors(req), 'set-cookie': 'sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0' }).end();
      return;
    }

    json(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, err?.status ?? 500, { error: String(err?.message ?? err) });
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    requests,
    /** Pending states (for assertions). */
    states,
    async close() {
      await new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    },
  };
}

// A local OAuth 2.0 provider that follows seed 002 ("Custom SSO OAuth 2.0") to the letter, on 127.0.0.1.
//
//   GET  /authorize?client_id&state&redirect_uri&response_type=code&scope   (all five required, else 400)
//        auto-approves as the first user (or the one named by `login_hint`, or the one set by setUser())
//        and redirects to redirect_uri?state&code&scope&prompt=consent&authuser=0
//   POST /token  (application/x-www-form-urlencoded only)
//        grant_type=authorization_code: code, client_id (optional), client_secret (REQUIRED, body only:
//        an Authorization header is refused with 401 invalid_client), redirect_uri (required, must equal
//        the one given to /authorize). No PKCE (a code_verifier is ignored, as a seed-002 server would).
//        grant_type=refresh_token: refresh_token, client_id (optional), client_secret (required).
//        Answers { token_type, access_token (RS256 JWT with first_name, last_name, username, email),
//        expires_in: 3599, refresh_token, scope, id_token }.
//   GET  /jwks   the RS256 public key.
//
// Test hooks: failNext(status, body, headers?), delayNext(ms), denyNext(error?), setUser(username),
// tokenRequests(), lastTokenRequest(), authorizeRequests(), expireCodes(), rotateRefreshTokens option.
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign, timingSafeEqual } from 'node:crypto';

const DEFAULT_USERS = [
  { id: '108895602905678655677', first_name: 'Grace', last_name: 'Hopper', username: 'grace', email: 'grace@example.com' },
  { id: '208895602905678655678', first_name: 'Linus', last_name: 'Torvalds', username: 'linus', email: 'linus@example.com' },
];

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const b64uJson = (obj) => b64u(JSON.stringify(obj));

function thumbprint(jwk) {
  // RFC 7638: required members only, lexicographic order, no whitespace.
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return b64u(createHash('sha256').update(JSON.stringify(members)).digest());
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startSeed002Provider({
  clientId = 'seed002-client',
  clientSecret = 'seed002-secret',
  users = DEFAULT_USERS,
  host = '127.0.0.1',
  port = 0,
  redirectUris = null, // optional allow-list for redirect_uri (seed 002: "you can validate it on your side (optionally)")
  codeTtlSec = 60,
  expiresIn = 3599,
  rotateRefreshTokens = false,
  now = () => Date.now(),
} = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk = publicKey.export({ format: 'jwk' });
  const kid = thumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };

  const codes = new Map(); // code -> { user, redirectUri, scope, clientId, expiresAt, used }
  const refreshTokens = new Map(); // token -> { user, scope }
  let nextFailure = null;
  let nextDelay = 0;
  let nextDeny = null;
  let forcedUser = null;
  let tokenRequestCount = 0;
  let authorizeRequestCount = 0;
  let lastToken = null;
  const timers = new Set();
  let issuer = '';

  const nowSec = () => Math.floor(now() / 1000);
  const findUser = (name) => users.find((u) => u.username === name || u.email === name || u.id === name);

  function signJwt(payload) {
    const header = { alg: 'RS256', kid, typ: 'JWT' };
    const input = `${b64uJson(header)}.${b64uJson(payload)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), privateKey);
    return `${input}.${b64u(sig)}`;
  }

  function issueTokens(user, scope) {
    const iat = nowSec();
    const accessToken = signJwt({
      iss: issuer,
      sub: user.id,
      aud: clientId,
      iat,
      exp: iat + expiresIn,
      jti: b64u(randomBytes(16)),
      scope,
      first_name: user.first_name,
      ...(user.last_name ? { last_name: user.last_name } : {}),
      username: user.username ?? user.email,
      email: user.email,
    });
    const atHash = b64u(createHash('sha256').update(accessToken).digest().subarray(0, 16));
    const idToken = signJwt({
      iss: issuer,
      azp: clientId,
      aud: clientId,
      sub: user.id,
      email: user.email,
      email_verified: true,
      at_hash: atHash,
      iat,
      exp: iat + 3600,
    });
    return { accessToken, idToken };
  }

  function sendJson(res, status, body, extra = {}) {
    const buf = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': buf.length,
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...extra,
    });
    res.end(buf);
  }

  function sendText(res, status, text) {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  }

  function readBody(req, limit = 64 * 1024) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > limit) { reject(Object.assign(new Error('body too large'), { status: 413 })); req.destroy(); return; }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function handleAuthorize(req, res, url) {
    authorizeRequestCount += 1;
    const q = url.searchParams;
    const required = ['client_id', 'state', 'redirect_uri', 'response_type', 'scope'];
    const missing = required.filter((k) => !q.get(k));
    if (missing.length) return sendText(res, 400, `invalid_request: missing ${missing.join(', ')}`);
    for (const k of required) {
      if (q.getAll(k).length > 1) return sendText(res, 400, `invalid_request: repeated ${k}`);
    }
    if (q.get('client_id') !== clientId) return sendText(res, 400, 'invalid_request: unknown client_id');
    let redirect;
    try {
      redirect = new URL(q.get('redirect_uri'));
      if (!/^https?:$/.test(redirect.protocol) || redirect.hash) throw new Error('bad');
    } catch {
      return sendText(res, 400, 'invalid_request: redirect_uri must be an absolute http(s) URL without fragment');
    }
    if (redirectUris && !redirectUris.includes(q.get('redirect_uri'))) {
      return sendText(res, 400, 'invalid_request: redirect_uri is not registered');
    }
    if (q.get('response_type') !== 'code') {
      redirect.searchParams.set('error', 'unsupported_response_type');
      redirect.searchParams.set('state', q.get('state'));
      res.writeHead(302, { location: redirect.href, 'cache-control': 'no-store' }).end();
      return undefined;
    }
    if (nextDeny) {
      const error = nextDeny;
      nextDeny = null;
      redirect.searchParams.set('error', error);
      redirect.searchParams.set('error_description', 'The user denied the request');
      redirect.searchParams.set('state', q.get('state'));
      res.writeHead(302, { location: redirect.href, 'cache-control': 'no-store' }).end();
      return undefined;
    }
    const user = (forcedUser && findUser(forcedUser)) || (q.get('login_hint') && findUser(q.get('login_hint'))) || users[0];
    const code = b64u(randomBytes(32));
    const scope = q.get('scope');
    codes.set(code, { user, redirectUri: q.get('redirect_uri'), scope, expiresAt: now() + codeTtlSec * 1000, used: false });
    redirect.searchParams.set('state', q.get('state'));
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('scope', scope);
    redirect.searchParams.set('prompt', 'consent');
    redirect.searchParams.set('authuser', '0');
    res.writeHead(302, { location: redirect.href, 'cache-control': 'no-store' }).end();
    return undefined;
  }

  async function handleToken(req, res) {
    tokenRequestCount += 1;
    let raw;
    try {
      raw = await readBody(req);
    } catch (e) {
      return sendJson(res, e.status || 400, { error: 'invalid_request', error_description: e.message });
    }
    lastToken = { headers: { ...req.headers }, body: raw };

    if (nextDelay > 0) {
      const ms = nextDelay;
      nextDelay = 0;
      await new Promise((resolve) => {
        const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
        timers.add(t);
      });
      if (res.destroyed) return undefined;
    }
    if (nextFailure) {
      const { status, body, headers } = nextFailure;
      nextFailure = null;
      const buf = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? { error: 'server_error' }));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...headers });
      res.end(buf);
      return undefined;
    }

    const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'expected application/x-www-form-urlencoded' });
    }
    if (req.headers.authorization) {
      return sendJson(res, 401, {
        error: 'invalid_client',
        error_description: 'client authentication must use client_secret in the request body (no Authorization header)',
      });
    }
    const p = new URLSearchParams(raw);
    for (const k of new Set(p.keys())) {
      if (p.getAll(k).length > 1) return sendJson(res, 400, { error: 'invalid_request', error_description: `repeated parameter ${k}` });
    }
    const secret = p.get('client_secret');
    if (!secret) return sendJson(res, 401, { error: 'invalid_client', error_description: 'client_secret is required' });
    if (p.has('client_id') && p.get('client_id') !== clientId) {
      return sendJson(res, 401, { error: 'invalid_client', error_description: 'unknown client_id' });
    }
    if (!safeEqual(secret, clientSecret)) return sendJson(res, 401, { error: 'invalid_client', error_description: 'wrong client_secret' });

    const grantType = p.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = p.get('code');
      const redirectUri = p.get('redirect_uri');
      if (!code) return sendJson(res, 400, { error: 'invalid_request', error_description: 'code is required' });
      if (!redirectUri) return sendJson(res, 400, { error: 'invalid_request', error_description: 'redirect_uri is required' });
      const rec = codes.get(code);
      if (!rec) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'unknown code' });
      if (rec.used) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'code already used' });
      rec.used = true;
      if (now() > rec.expiresAt) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'code expired' });
      if (rec.redirectUri !== redirectUri) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri does not match' });
      const { accessToken, idToken } = issueTokens(rec.user, rec.scope);
      const refreshToken = b64u(randomBytes(32));
      refreshTokens.set(refreshToken, { user: rec.user, scope: rec.scope });
      return sendJson(res, 200, {
        token_type: 'Bearer',
        access_token: accessToken,
        expires_in: expiresIn,
        refresh_token: refreshToken,
        scope: rec.scope,
        id_token: idToken,
      });
    }
    if (grantType === 'refresh_token') {
      const token = p.get('refresh_token');
      if (!token) return sendJson(res, 400, { error: 'invalid_request', error_description: 'refresh_token is required' });
      const rec = refreshTokens.get(token);
      if (!rec) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'unknown refresh_token' });
      let refreshToken = token;
      if (rotateRefreshTokens) {
        refreshTokens.delete(token);
        refreshToken = b64u(randomBytes(32));
        refreshTokens.set(refreshToken, rec);
      }
      const { accessToken, idToken } = issueTokens(rec.user, rec.scope);
      return sendJson(res, 200, {
        token_type: 'Bearer',
        access_token: accessToken,
        expires_in: expiresIn,
        refresh_token: refreshToken,
        scope: rec.scope,
        id_token: idToken,
      });
    }
    if (!grantType) return sendJson(res, 400, { error: 'invalid_request', error_description: 'grant_type is required' });
    return sendJson(res, 400, { error: 'unsupported_grant_type' });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    Promise.resolve().then(() => {
      switch (route) {
        case 'GET /authorize': return handleAuthorize(req, res, url);
        case 'POST /token': return handleToken(req, res);
        case 'GET /jwks':
          return sendJson(res, 200, jwks, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
        default:
          if (['/authorize', '/token', '/jwks'].includes(url.pathname)) return sendText(res, 405, 'method not allowed');
          return sendText(res, 404, 'not found');
      }
    }).catch((e) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(e?.message || e) });
      else res.destroy();
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  issuer = `http://${host}:${actualPort}`;

  return {
    url: issuer,
    issuer,
    port: actualPort,
    clientId,
    clientSecret,
    authorizationEndpoint: `${issuer}/authorize`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    jwks,
    users,
    /** The next /token request is answered with `status` and `body` (a string is sent as is, with content-type application/json unless `headers` says otherwise). */
    failNext(status = 500, body = { error: 'server_error' }, headers = {}) { nextFailure = { status, body, headers }; },
    /** The next /token answer is delayed by `ms`. */
    delayNext(ms) { nextDelay = Math.max(0, Number(ms) || 0); },
    /** The next /authorize request redirects back with `error` (default access_denied) instead of a code. */
    denyNext(error = 'access_denied') { nextDeny = error; },
    /** Log in as this user (username, email or id) from now on; null = first user / login_hint. */
    setUser(name) { forcedUser = name; },
    expireCodes() { for (const rec of codes.values()) rec.expiresAt = 0; },
    tokenRequests: () => tokenRequestCount,
    authorizeRequests: () => authorizeRequestCount,
    lastTokenRequest: () => lastToken,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// A real OpenID Provider (npm `oidc-provider` 9) on 127.0.0.1 for backend and browser tests, plus a
// fetch-only driver of its development login/consent pages.
//
//   const op = await startOidcProvider({ clients: [{ client_id, client_secret, redirect_uris }] });
//   op.issuer                   // http://127.0.0.1:<port>  (no trailing slash)
//   const { code, state, iss } = await obtainAuthorizationCode({ issuer: op.issuer, clientId, redirectUri,
//     scope: 'openid email offline_access api:read', state, codeChallenge, codeChallengeMethod: 'S256' });
//   // then POST op.tokenEndpoint (client_secret_basic / client_secret_post / none + code_verifier)
//   await op.close();
//
// Configuration (keys checked against oidc-provider 9.13.3, lib/helpers/defaults.js):
// - features.devInteractions: its built-in login (any login, any password) and consent pages;
// - pkce.required: default (required for public clients, token_endpoint_auth_method 'none'); a
//   confidential client may still send PKCE, and the provider then enforces it;
// - grants authorization_code + refresh_token; issueRefreshToken returns true whenever the client has
//   the refresh_token grant, so refresh tokens come without `offline_access` / `prompt=consent` (when
//   `offline_access` is asked for, obtainAuthorizationCode adds prompt=consent itself);
// - RFC 9207 `iss` in authorization responses: always on in v9 (lib/actions/authorization/respond.js);
// - features.resourceIndicators with defaultResource + useGrantedResource → access tokens are ES256
//   JWTs (typ at+jwt) for one resource server whose audience is configurable (`audience`);
// - keys: one ES256 (P-256) and one RS256 (2048) signing key, generated at start; id tokens RS256.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const DEFAULT_ACCOUNTS = {
  alice: { sub: 'alice', email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice' },
  bob: { sub: 'bob', email: 'bob@example.com', email_verified: true, name: 'Bob Marley', given_name: 'Bob', family_name: 'Marley', preferred_username: 'bob' },
};

function b64u(buf) { return Buffer.from(buf).toString('base64url'); }

function thumbprint(jwk) {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return b64u(createHash('sha256').update(JSON.stringify(members)).digest());
}

function signingKeys() {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return [
    { ...ec, kid: thumbprint(ec), alg: 'ES256', use: 'sig' },
    { ...rsa, kid: thumbprint(rsa), alg: 'RS256', use: 'sig' },
  ];
}

function withClientDefaults(c) {
  const out = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...c,
  };
  if (!c.token_endpoint_auth_method) out.token_endpoint_auth_method = c.client_secret ? 'client_secret_basic' : 'none';
  return out;
}

/**
 * @param {object} [o]
 * @param {object[]} [o.clients]   oidc-provider client metadata; defaults added: grant_types
 *   [authorization_code, refresh_token], response_types [code], token_endpoint_auth_method
 *   client_secret_basic when a secret is given, else none (public client, PKCE required).
 *   Use token_endpoint_auth_method 'client_secret_post' for a secret-in-body client.
 * @param {number} [o.port=0]
 * @param {string} [o.host='127.0.0.1']
 * @param {string} [o.resource='urn:extension-sso:test-api']  resource indicator of the JWT resource server
 * @param {string|string[]} [o.audience=resource]  `aud` of the JWT access tokens
 * @param {string} [o.resourceScope='api:read api:write']     scopes of that resource server
 * @param {string} [o.accessTokenAlg='ES256']   'ES256' or 'RS256'
 * @param {number} [o.accessTokenTtl=600]       seconds
 * @param {Record<string, object>} [o.accounts] login → claims (any other login is accepted too)
 * @param {boolean} [o.jwtAccessTokens=true]  false: no default resource, so access tokens are opaque
 *   and accepted by the userinfo endpoint (`/me`), as a relying party that reads userinfo needs
 *   (the seed 004 auth service stand-in); a client may still ask for `resource` explicitly
 */
export async function startOidcProvider({
  clients = [],
  port = 0,
  host = '127.0.0.1',
  resource = 'urn:extension-sso:test-api',
  audience = resource,
  resourceScope = 'api:read api:write',
  accessTokenAlg = 'ES256',
  accessTokenTtl = 600,
  accounts = DEFAULT_ACCOUNTS,
  jwtAccessTokens = true,
} = {}) {
  // The issuer needs the port: listen first, then build the provider and plug it in.
  let handler = (req, res) => { res.writeHead(503).end('starting'); };
  const server = createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const issuer = `http://${host}:${server.address().port}`;
  const keys = signingKeys();

  const provider = new Provider(issuer, {
    clients: clients.map(withClientDefaults),
    jwks: { keys },
    cookies: { keys: [b64u(randomBytes(32))] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    scopes: ['openid', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? (jwtAccessTokens ? resource : undefined),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: resourceScope,
            audience,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: accessTokenAlg } },
          };
        },
      },
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // name and email in the JWT access tokens too, so an extension backend can show who logged in.
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const a = accounts[token.accountId];
      return a ? { email: a.email, name: a.name } : undefined;
    },
    findAccount: async (_ctx, sub) => {
      const claims = accounts[sub] ?? { sub, email: `${sub}@example.com`, email_verified: false, name: sub, preferred_username: sub };
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    ttl: { AccessToken: accessTokenTtl, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 14 * 24 * 3600, Interaction: 600, Session: 3600, Grant: 14 * 24 * 3600 },
  });
  // The development-only warnings of oidc-provider go to console; keep test output readable.
  provider.on('server_error', (_ctx, err) => { process.stderr.write(`[oidc-provider] server_error: ${err?.stack || err}\n`); });
  if (process.env.OIDC_DEBUG) {
    for (const ev of ['grant.error', 'authorization.error', 'userinfo.error']) {
      provider.on(ev, (_ctx, err) => { process.stderr.write(`[oidc-provider] ${ev}: ${err.message} ${err.error_detail ?? ''}\n`); });
    }
  }
  handler = provider.callback();

  const publicJwks = {
    keys: keys.map((k) => (k.kty === 'RSA'
      ? { kty: k.kty, n: k.n, e: k.e, kid: k.kid, alg: k.alg, use: k.use }
      : { kty: k.kty, crv: k.crv, x: k.x, y: k.y, kid: k.kid, alg: k.alg, use: k.use })),
  };

  return {
    issuer,
    url: issuer,
    provider,
    resource,
    audience,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    userinfoEndpoint: `${issuer}/me`,
    jwks: publicJwks,
    /** The provider's private signing keys (ES256, RS256): for tests that mint ID Tokens it could have issued. */
    signingJwks: { keys },
    async close() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Driving the devInteractions pages with fetch.

class CookieJar {
  #cookies = []; // { name, value, path, origin }

  store(url, response) {
    const u = new URL(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = u.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.trim().startsWith('/')) path = v.trim();
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      this.#cookies = this.#cookies.filter((c) => !(c.name === name && c.path === path && c.origin === u.origin));
      if (!expired) this.#cookies.push({ name, value, path, origin: u.origin });
    }
  }

  header(url) {
    const u = new URL(url);
    const matches = this.#cookies.filter((c) => c.origin === u.origin
      && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    matches.sort((a, b) => b.path.length - a.path.length);
    return matches.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function parseForm(html, baseUrl) {
  const form = html.match(/<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) return null;
  const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/');
  const fields = {};
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = m[1].match(/\bname="([^"]*)"/i)?.[1];
    const value = m[1].match(/\bvalue="([^"]*)"/i)?.[1] ?? '';
    if (name) fields[name] = unescape(value);
  }
  return { action: new URL(unescape(form[1]), baseUrl).href, fields };
}

/**
 * Runs the authorization code flow of `issuer` through its devInteractions pages with plain fetch
 * and a cookie jar, and resolves with the parameters of the redirect to `redirectUri`:
 * `{ code, state, iss, error, error_description, url }` (`error*` set when the provider answered one).
 * Options: issuer, clientId, redirectUri, scope ('openid' by default), state, nonce, codeChallenge,
 * codeChallengeMethod ('S256' when a challenge is given), login ('alice'), prompt (default:
 * 'consent' when the scope includes offline_access), resource, deny (abort at the login page),
 * extraParams (object of more authorization request parameters).
 */
export async function obtainAuthorizationCode({
  issuer,
  clientId,
  redirectUri,
  scope = 'openid',
  state,
  nonce,
  codeChallenge,
  codeChallengeMethod,
  login = 'alice',
  prompt,
  resource,
  deny = false,
  extraParams = {},
} = {}) {
  const discovery = await (await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)).json();
  const auth = new URL(discovery.authorization_endpoint);
  const params = {
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: codeChallenge ? (codeChallengeMethod ?? 'S256') : codeChallengeMethod,
    prompt: prompt ?? (/(^|\s)offline_access(\s|$)/.test(scope) ? 'consent' : undefined),
    resource,
    ...extraParams,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) auth.searchParams.set(k, v);

  const jar = new CookieJar();
  let url = auth.href;
  let method = 'GET';
  let body;
  for (let step = 0; step < 20; step += 1) {
    if (url.startsWith(redirectUri) && (url.length === redirectUri.length || '?#&'.includes(url[redirectUri.length]))) {
      const u = new URL(url);
      const p = new URLSearchParams(u.search || u.hash.slice(1));
      const get = (k) => p.get(k) ?? undefined;
      return { code: get('code'), state: get('state'), iss: get('iss'), error: get('error'), error_description: get('error_description'), url };
    }
    const headers = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    jar.store(url, res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`authorization flow stopped at ${url}: HTTP ${res.status}: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
    const form = parseForm(html, url);
    if (!form) throw new Error(`authorization flow stopped at ${url}: no form on the page`);
    if (form.fields.prompt === 'login' && deny) {
      const abort = html.match(/href="([^"]*\/abort)"/)?.[1];
      if (!abort) throw new Error('no abort link on the login page');
      url = new URL(abort.replace(/&amp;/g, '&'), url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    if (form.fields.prompt === 'login') {
      form.fields.login = login;
      form.fields.password = 'any-password';
    }
    url = form.action;
    method = 'POST';
    body = new URLSearchParams(form.fields).toString();
  }
  throw new Error('authorization flow did not reach the redirect URI in 20 steps');
}

/** PKCE helper: `{ codeVerifier, codeChallenge, codeChallengeMethod: 'S256' }`. */
export function pkcePair() {
  const codeVerifier = b64u(randomBytes(32));
  const codeChallenge = b64u(createHash('sha256').update(codeVerifier).digest());
  return { codeVerifier, codeChallenge, codeChallengeMethod: 'S256' };
}

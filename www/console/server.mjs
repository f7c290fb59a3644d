#!/usr/bin/env node
// Dev Console: a local stand-in for the Mia-Platform console acting as the OAuth2 authorization
// server of iframe extensions. Node built-ins only; listens on 127.0.0.1.
//
//   import { startConsole } from './www/console/server.mjs';
//   const c = await startConsole({ extensions: [{ tenantId, extensionId, callbackUrl, frameUrl, name }] });
//
//   node www/console/server.mjs --port 8787 --extension-url http://127.0.0.1:8788/extension/
//
// Routes
//   GET  /                                              host page of the first extension
//   GET  /tenants/:tenantId/extensions/:extensionId     host page: console shell framing the extension
//   GET  /tenants/:tenantId/extension/:extensionId/authz?state=…   login + consent
//   POST /tenants/:tenantId/extension/:extensionId/authz           form submit (Allow / Deny)
//   POST /api/oauth/token        JSON {code, state} → { access_token (ES256 JWT), token_type, expires_in }
//   GET  /jwks                   the public keys (application/jwk-set+json)
//   POST /api/extensions/:extensionId/app   JSON {callbackUrl[, tenantId, frameUrl, name]}: register the app
//
// Top-navigation bridge (host page): a message { type: 'extension-sso:navigate', url } posted by the
// framed extension (origin = the frameUrl's origin, source = the iframe's window) whose url is this
// console's own authz route for that extension makes the top window navigate there; the host answers
// { type: 'extension-sso:navigate-result', ok: true } to the frame first (ok: false when it refuses
// the URL). Messages from another origin or window are ignored (and logged).
// A login started through the bridge returns into the frame: the authz route is opened with
// `return_to=host`, so after consent the console redirects the top window to the host page with
// the callback parameters (code, state, error*, iss), and the host page frames the extension's
// callbackUrl with them (then removes them from its own address bar).
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { realpathSync } from 'node:fs';

export const DEMO_USERS = Object.freeze([
  Object.freeze({ sub: 'user-ada', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', email: 'ada@example.com' }),
  Object.freeze({ sub: 'user-alan', name: 'Alan Turing', given_name: 'Alan', family_name: 'Turing', email: 'alan@example.com' }),
]);

const INTERACTION_TTL_SEC = 600;
const MAX_JSON_BODY = 16 * 1024;
const MAX_FORM_BODY = 16 * 1024;

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const b64uJson = (obj) => b64u(JSON.stringify(obj));
const token = (bytes = 32) => b64u(randomBytes(bytes));

function thumbprint(jwk) {
  // RFC 7638 for an EC key: crv, kty, x, y in lexicographic order, no whitespace.
  return b64u(createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest());
}

function newSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const kid = thumbprint({ kty, crv, x, y });
  return { kid, privateKey, jwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

function safeEqual(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
// JSON placed inside a <script> element: no "</script", no HTML comment openers, no U+2028/9 surprises.
const scriptJson = (v) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
  .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

function validCallbackUrl(value) {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.hash && !u.username && !u.password && value.includes('://');
  } catch {
    return false;
  }
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let failed = false;
    req.on('data', (c) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
  });
}

const mediaType = (req) => String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();

// ---------------------------------------------------------------------------------------------
// HTML

const BASE_CSS = `
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f3f5f9}
a{color:#1f5bd8}
.topbar{height:52px;display:flex;align-items:center;gap:12px;padding:0 18px;background:#101a33;color:#fff}
.logo{width:26px;height:26px;border-radius:7px;background:linear-gradient(135deg,#4f8cff,#7b5cff);display:grid;place-items:center;font-weight:700;font-size:13px}
.topbar h1{font-size:16px;font-weight:600;margin:0}
.topbar .crumb{opacity:.7;font-size:13px}
.topbar .spacer{flex:1}
.badge{font-size:11px;padding:2px 8px;border-radius:999px;background:#ffcf5c;color:#3a2a00;font-weight:600}
.layout{display:flex;height:calc(100% - 52px)}
nav{width:230px;flex:none;background:#fff;border-right:1px solid #e2e6ee;padding:14px 10px;overflow:auto}
nav h2{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#6b7488;margin:10px 8px 6px}
nav a{display:block;padding:7px 10px;border-radius:7px;color:#1d2433;text-decoration:none}
nav a:hover{background:#f0f3fa}
nav a.active{background:#e8efff;color:#1f4fc2;font-weight:600}
nav .muted{color:#9aa2b4;padding:7px 10px}
main{flex:1;display:flex;flex-direction:column;min-width:0}
.pagehead{padding:12px 18px;border-bottom:1px solid #e2e6ee;background:#fff;display:flex;align-items:baseline;gap:10px}
.pagehead h2{margin:0;font-size:15px}
.pagehead code{font-size:12px;color:#6b7488}
.frame-wrap{flex:1;padding:14px;min-height:0}
iframe{width:100%;height:100%;border:1px solid #d7dce6;border-radius:10px;background:#fff}
.card{max-width:440px;margin:40px auto;background:#fff;border:1px solid #e2e6ee;border-radius:14px;padding:26px 28px;box-shadow:0 6px 24px rgba(16,26,51,.06)}
.card h1{font-size:19px;margin:0 0 4px}
.card p{margin:6px 0 14px;color:#4a5468}
.users{display:grid;gap:8px;margin:14px 0}
.user{display:flex;align-items:center;gap:10px;padding:10px 12px;border:1px solid #dfe3ec;border-radius:10px;cursor:pointer}
.user:has(input:checked){border-color:#4f8cff;background:#f3f7ff}
.avatar{width:30px;height:30px;border-radius:50%;background:#dfe7ff;color:#1f4fc2;display:grid;place-items:center;font-weight:700;font-size:12px}
.user small{display:block;color:#6b7488}
.scopes{margin:10px 0 18px;padding:10px 14px;background:#f7f8fb;border-radius:10px;color:#4a5468}
.scopes li{margin:3px 0}
.actions{display:flex;gap:10px;justify-content:flex-end}
button{font:inherit;padding:9px 18px;border-radius:8px;border:1px solid transparent;cursor:pointer;font-weight:600}
button.primary{background:#1f5bd8;color:#fff}
button.primary:hover{background:#1a4fbd}
button.secondary{background:#fff;color:#1d2433;border-color:#cfd5e1}
.error-code{font-family:ui-monospace,monospace;background:#fff1f1;color:#a11;padding:2px 6px;border-radius:5px}
`;

function page({ title, body, nonce }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style nonce="${nonce}">${BASE_CSS}</style></head>
<body>${body}</body></html>`;
}

function topbar(crumb) {
  return `<header class="topbar"><div class="logo">M</div><h1>Dev Console</h1>${crumb ? `<span class="crumb">/ ${esc(crumb)}</span>` : ''}<span class="spacer"></span><span class="badge">local stand-in</span></header>`;
}

function initials(name) {
  return esc(String(name).split(/\s+/).map((w) => w[0] || '').join('').slice(0, 2).toUpperCase());
}

// ---------------------------------------------------------------------------------------------

/**
 * Start the dev console.
 * @param {object} [o]
 * @param {string} [o.host='127.0.0.1']   listen address (loopback only)
 * @param {number} [o.port=0]             0 = ephemeral
 * @param {Array<{tenantId:string, extensionId:string, callbackUrl?:string, frameUrl?:string, name?:string}>} [o.extensions]
 * @param {string} [o.publicOrigin]       origin the console is reached at (issuer); default http://<host>:<port>
 * @param {string} [o.publicHostname]     e.g. 'localhost': public origin becomes http://localhost:<actual port>
 * @param {number} [o.codeTtlSec=60]
 * @param {number} [o.tokenTtlSec=3600]
 * @param {() => number} [o.now]          clock in epoch milliseconds (default Date.now)
 * @param {Array<object>} [o.users]       demo users { sub, name, given_name, family_name, email }
 * @param {boolean} [o.issInAuthorizationResponse=false]  add RFC 9207 `iss` to the callback redirect
 * @param {boolean} [o.strictTokenBody=true]  reject token request members other than code and state
 * @param {(line:string) => void} [o.log]  request log (default: silent)
 */
export async function startConsole({
  host = '127.0.0.1',
  port = 0,
  extensions = [],
  publicOrigin,
  publicHostname,
  codeTtlSec = 60,
  tokenTtlSec = 3600,
  now = () => Date.now(),
  users = DEMO_USERS,
  issInAuthorizationResponse = false,
  strictTokenBody = true,
  log = () => {},
} = {}) {
  const exts = new Map(); // extensionId -> { tenantId, extensionId, callbackUrl, frameUrl, name }
  const addExtension = (e) => {
    if (!e || typeof e.extensionId !== 'string' || !e.extensionId || typeof e.tenantId !== 'string' || !e.tenantId) {
      throw new TypeError('an extension needs a non-empty tenantId and extensionId');
    }
    if (e.callbackUrl !== undefined && !validCallbackUrl(e.callbackUrl)) throw new TypeError(`invalid callbackUrl for ${e.extensionId}`);
    if (e.frameUrl !== undefined && !validCallbackUrl(e.frameUrl)) throw new TypeError(`invalid frameUrl for ${e.extensionId}`);
    const rec = {
      tenantId: e.tenantId,
      extensionId: e.extensionId,
      callbackUrl: e.callbackUrl,
      frameUrl: e.frameUrl ?? e.callbackUrl,
      name: e.name || e.extensionId,
    };
    exts.set(rec.extensionId, rec);
    return { ...rec };
  };
  for (const e of extensions) addExtension(e);

  const keys = [newSigningKey()]; // last = signing key
  const interactions = new Map(); // id -> { csrf, tenantId, extensionId, state, expiresAt }
  const codes = new Map(); // code -> { state, tenantId, extensionId, user, expiresAt, used }
  let codesIssued = 0;
  let tokenRequestCount = 0;
  let lastTokenRequest = null;
  let lastTokenRequestRaw = null;
  let issuer = '';

  const nowMs = () => now();
  const nowSec = () => Math.floor(nowMs() / 1000);
  const jwksDoc = () => ({ keys: keys.map((k) => ({ ...k.jwk })) });

  function sweep() {
    const t = nowMs();
    for (const [id, ix] of interactions) if (ix.expiresAt <= t) interactions.delete(id);
    for (const [c, rec] of codes) if (rec.used || rec.expiresAt <= t) { if (t - rec.expiresAt > 600_000) codes.delete(c); }
  }

  function signAccessToken(claims) {
    const key = keys[keys.length - 1];
    const input = `${b64uJson({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })}.${b64uJson(claims)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64u(sig)}`;
  }

  // -- responses --------------------------------------------------------------------------------

  function sendJson(res, status, body, headers = {}) {
    const buf = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': buf.length, ...headers });
    res.end(buf);
  }

  function sendHtml(res, status, html, { nonce, formAction = "'self'", frameSrc = "'none'", headers = {} } = {}) {
    const buf = Buffer.from(html);
    const csp = [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      `frame-src ${frameSrc}`,
      `form-action ${formAction}`,
      "frame-ancestors 'self'",
      "base-uri 'none'",
      'img-src data:',
    ].join('; ');
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': buf.length,
      'content-security-policy': csp,
      'x-frame-options': 'SAMEORIGIN',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin', // not 'no-referrer': that turns the form's Origin header into "null"
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(buf);
  }

  function errorPage(res, status, heading, message, code) {
    const nonce = token(16);
    const body = `${topbar('Error')}<div class="card"><h1>${esc(heading)}</h1><p>${esc(message)}</p>${code ? `<p>Error: <span class="error-code">${esc(code)}</span></p>` : ''}</div>`;
    sendHtml(res, status, page({ title: `${heading} · Dev Console`, body, nonce }), { nonce });
  }

  // -- host page -------------------------------------------------------------------------------

  const CALLBACK_PARAMS = ['code', 'state', 'error', 'error_description', 'error_uri', 'iss'];

  function hostPage(res, ext, url) {
    const nonce = token(16);
    const nav = [...exts.values()].map((e) => {
      const href = `/tenants/${encodeURIComponent(e.tenantId)}/extensions/${encodeURIComponent(e.extensionId)}`;
      return `<a href="${esc(href)}"${ext && e.extensionId === ext.extensionId ? ' class="active" aria-current="page"' : ''}>${esc(e.name)}</a>`;
    }).join('') || '<div class="muted">No extensions registered</div>';
    let mainHtml;
    let frameSrc = "'none'";
    let config = null;
    if (ext && ext.frameUrl) {
      const frameOrigin = new URL(ext.frameUrl).origin;
      // The frame shows the extension, then (navigation 'self') this console's authz page, then the
      // extension's callback page.
      frameSrc = [...new Set(["'self'", frameOrigin, ext.callbackUrl ? new URL(ext.callbackUrl).origin : frameOrigin])].join(' ');
      config = {
        frameOrigin,
        authzPath: `/tenants/${encodeURIComponent(ext.tenantId)}/extension/${encodeURIComponent(ext.extensionId)}/authz`,
      };
      // Back from a bridge (top-level) login: frame the callback page with the callback parameters.
      let src = ext.frameUrl;
      const carried = url ? CALLBACK_PARAMS.filter((k) => url.searchParams.has(k)) : [];
      if (carried.length && ext.callbackUrl) {
        const cb = new URL(ext.callbackUrl);
        for (const k of carried) cb.searchParams.set(k, url.searchParams.get(k));
        src = cb.href;
        config.scrub = CALLBACK_PARAMS;
      }
      mainHtml = `<div class="pagehead"><h2>${esc(ext.name)}</h2><code>${esc(ext.tenantId)} / ${esc(ext.extensionId)}</code></div>
<div class="frame-wrap"><iframe id="extension-frame" title="${esc(ext.name)}" src="${esc(src)}" allow="clipboard-write"></iframe></div>`;
    } else {
      mainHtml = `<div class="card"><h1>No extension to show</h1><p>Register an extension with a frame URL (CLI: <code>--extension-url</code>).</p></div>`;
    }
    const script = config ? `<script nonce="${nonce}">
(() => {
  const cfg = ${scriptJson(config)};
  const frame = document.getElementById('extension-frame');
  if (cfg.scrub) {
    const here = new URL(location.href);
    for (const k of cfg.scrub) here.searchParams.delete(k);
    history.replaceState(history.state, '', here.href);
  }
  window.addEventListener('message', (event) => {
    const data = event.data;
    if (!data || typeof data !== 'object' || data.type !== 'extension-sso:navigate') return;
    if (event.origin !== cfg.frameOrigin || !frame || event.source !== frame.contentWindow) {
      console.warn('[dev-console] navigate request ignored: unexpected origin or source', event.origin);
      return;
    }
    const refuse = (why) => {
      console.warn('[dev-console] navigate request ignored (answered ok: false): ' + why);
      event.source.postMessage({ type: 'extension-sso:navigate-result', ok: false }, event.origin);
    };
    let target;
    try { target = new URL(String(data.url), location.href); } catch {
      return refuse('not a URL');
    }
    if (typeof data.url !== 'string' || target.origin !== location.origin || target.pathname !== cfg.authzPath
        || target.username || target.password || target.hash) {
      return refuse('not this extension\\'s authz route ' + target.pathname);
    }
    event.source.postMessage({ type: 'extension-sso:navigate-result', ok: true }, event.origin);
    console.info('[dev-console] top navigation to the authz route requested by the extension');
    target.searchParams.set('return_to', 'host');
    location.assign(target.href);
  });
})();
</script>` : '';
    const body = `${topbar(ext ? ext.name : '')}<div class="layout"><nav><h2>Extensions</h2>${nav}</nav><main>${mainHtml}</main></div>${script}`;
    sendHtml(res, 200, page({ title: `${ext ? `${ext.name} · ` : ''}Dev Console`, body, nonce }), { nonce, frameSrc });
  }

  // -- authz -----------------------------------------------------------------------------------

  function authzGet(req, res, url, ext) {
    const states = url.searchParams.getAll('state');
    if (states.length !== 1 || !states[0]) {
      return errorPage(res, 400, 'Invalid login request', 'The "state" query parameter is required (exactly once, not empty).', 'invalid_request');
    }
    if (states[0].length > 1024) return errorPage(res, 400, 'Invalid login request', 'The "state" parameter is too long.', 'invalid_request');
    if (!ext.callbackUrl) {
      return errorPage(res, 400, 'Extension not configured', `No app is registered for "${ext.name}": register its callbackUrl first.`, 'unregistered_app');
    }
    sweep();
    const id = token(18);
    const csrf = token(24);
    interactions.set(id, {
      csrf,
      tenantId: ext.tenantId,
      extensionId: ext.extensionId,
      state: states[0],
      expiresAt: nowMs() + INTERACTION_TTL_SEC * 1000,
      // Started by the host page's top-navigation bridge: come back to the host page, which frames the callback.
      returnToHost: url.searchParams.get('return_to') === 'host' && Boolean(ext.frameUrl),
    });
    const nonce = token(16);
    const callbackOrigin = new URL(ext.callbackUrl).origin;
    const userList = users.map((u, i) => `<label class="user"><input type="radio" name="user" value="${esc(u.sub)}"${i === 0 ? ' checked' : ''}>
<span class="avatar">${initials(u.name)}</span><span><strong>${esc(u.name)}</strong><small>${esc(u.email)}</small></span></label>`).join('');
    // Framed (navigation 'self' inside the host page): the host page already shows the console header.
    const framed = req.headers['sec-fetch-dest'] === 'iframe';
    const body = `${framed ? '' : topbar('Sign in')}<div class="card">
<h1>Sign in to ${esc(ext.name)}</h1>
<p><strong>${esc(ext.name)}</strong> (extension of tenant <code>${esc(ext.tenantId)}</code>) wants to use your console identity.</p>
<form method="post" action="${esc(url.pathname)}">
<input type="hidden" name="interaction" value="${esc(id)}">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<div class="users" role="radiogroup" aria-label="Demo user">${userList}</div>
<ul class="scopes"><li>Your name and email address</li><li>Your user ID and company (tenant)</li></ul>
<div class="actions"><button class="secondary" type="submit" name="decision" value="deny">Deny</button>
<button class="primary" type="submit" name="decision" value="allow">Allow</button></div>
</form></div>`;
    // CSRF: the form carries an unguessable token bound server-side to this single-use, short-lived
    // interaction, and the POST must come from this page's origin. No cookie: this page often runs in
    // a frame whose navigation the (cross-site) extension started, where browsers may withhold cookies.
    return sendHtml(res, 200, page({ title: `Sign in · ${ext.name}`, body, nonce }), {
      nonce,
      formAction: `'self' ${callbackOrigin}`,
    });
  }

  async function authzPost(req, res, ext) {
    if (mediaType(req) !== 'application/x-www-form-urlencoded') {
      return errorPage(res, 400, 'Invalid request', 'Expected a form submission.', 'invalid_request');
    }
    let raw;
    try { raw = await readBody(req, MAX_FORM_BODY); } catch (e) {
      return errorPage(res, e.status || 400, 'Invalid request', e.message, 'invalid_request');
    }
    const form = new URLSearchParams(raw);
    const id = form.get('interaction') || '';
    const ix = interactions.get(id);
    if (!ix || ix.expiresAt <= nowMs()) {
      if (ix) interactions.delete(id);
      return errorPage(res, 400, 'Login session expired', 'This login page is no longer valid. Start the login again from the extension.', 'interaction_expired');
    }
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${req.headers.host}` || origin === issuer;
    if (!sameOrigin || ix.tenantId !== ext.tenantId || ix.extensionId !== ext.extensionId
      || !safeEqual(form.get('csrf') || '', ix.csrf)) {
      return errorPage(res, 403, 'Request rejected', 'The form could not be verified (CSRF check failed).', 'csrf_mismatch');
    }
    const decision = form.get('decision');
    if (decision !== 'allow' && decision !== 'deny') {
      return errorPage(res, 400, 'Invalid request', 'Choose Allow or Deny.', 'invalid_request');
    }
    interactions.delete(id); // single use
    const target = ix.returnToHost
      ? new URL(`/tenants/${encodeURIComponent(ext.tenantId)}/extensions/${encodeURIComponent(ext.extensionId)}`, issuer)
      : new URL(ext.callbackUrl);
    if (decision === 'deny') {
      target.searchParams.append('error', 'access_denied');
      target.searchParams.append('error_description', 'The user denied the request');
      target.searchParams.append('state', ix.state);
      if (issInAuthorizationResponse) target.searchParams.append('iss', issuer);
      log(`authz: denied for ${ext.extensionId}`);
      res.writeHead(302, { location: target.href, 'cache-control': 'no-store' }).end();
      return undefined;
    }
    const user = users.find((u) => u.sub === form.get('user'));
    if (!user) return errorPage(res, 400, 'Invalid request', 'Choose a user.', 'invalid_request');
    const code = token(32);
    codes.set(code, { state: ix.state, tenantId: ext.tenantId, extensionId: ext.extensionId, user, expiresAt: nowMs() + codeTtlSec * 1000, used: false });
    codesIssued += 1;
    target.searchParams.append('code', code);
    target.searchParams.append('state', ix.state);
    if (issInAuthorizationResponse) target.searchParams.append('iss', issuer);
    log(`authz: code issued for ${ext.extensionId} (${user.sub})`);
    res.writeHead(302, { location: target.href, 'cache-control': 'no-store' }).end();
    return undefined;
  }

  // -- token -----------------------------------------------------------------------------------

  async function tokenPost(req, res) {
    tokenRequestCount += 1;
    const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
    const fail = (status, error, description) => sendJson(res, status, { error, error_description: description }, noStore);
    let raw;
    try { raw = await readBody(req, MAX_JSON_BODY); } catch (e) {
      lastTokenRequest = null;
      lastTokenRequestRaw = null;
      return fail(e.status === 413 ? 413 : 400, 'invalid_request', e.message);
    }
    lastTokenRequestRaw = raw;
    lastTokenRequest = null;
    if (mediaType(req) !== 'application/json') return fail(400, 'invalid_request', 'Content-Type must be application/json');
    let body;
    try { body = JSON.parse(raw); } catch { return fail(400, 'invalid_request', 'the body is not valid JSON'); }
    lastTokenRequest = body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return fail(400, 'invalid_request', 'the body must be a JSON object {code, state}');
    if (typeof body.code !== 'string' || !body.code) return fail(400, 'invalid_request', 'code is required (string)');
    if (typeof body.state !== 'string' || !body.state) return fail(400, 'invalid_request', 'state is required (string)');
    if (strictTokenBody) {
      const extra = Object.keys(body).filter((k) => k !== 'code' && k !== 'state');
      if (extra.length) return fail(400, 'invalid_request', `unexpected member(s): ${extra.join(', ')} (the console's token request body is exactly {code, state})`);
    }
    const rec = codes.get(body.code);
    if (!rec) return fail(400, 'invalid_grant', 'unknown authorization code');
    if (rec.used) return fail(400, 'invalid_grant', 'authorization code already used');
    rec.used = true; // any presentation consumes the code, even a failed one
    if (nowMs() >= rec.expiresAt) return fail(400, 'invalid_grant', 'authorization code expired');
    if (!safeEqual(body.state, rec.state)) return fail(400, 'invalid_grant', 'state does not match the authorization request');
    const ext = exts.get(rec.extensionId);
    if (!ext || ext.tenantId !== rec.tenantId) return fail(400, 'invalid_grant', 'the extension is no longer registered');

    const iat = nowSec();
    const { user } = rec;
    const claims = {
      iss: issuer,
      aud: rec.extensionId,
      sub: user.sub,
      iat,
      nbf: iat,
      exp: iat + tokenTtlSec,
      jti: randomUUID(),
      name: user.name,
      given_name: user.given_name,
      family_name: user.family_name,
      email: user.email,
      tenant_id: rec.tenantId,
    };
    log(`token: issued for ${rec.extensionId} (${user.sub})`);
    return sendJson(res, 200, { access_token: signAccessToken(claims), token_type: 'Bearer', expires_in: tokenTtlSec }, noStore);
  }

  // -- app registration ------------------------------------------------------------------------

  async function registerApp(req, res, extensionId) {
    if (mediaType(req) !== 'application/json') return sendJson(res, 400, { error: 'invalid_request', error_description: 'Content-Type must be application/json' });
    let body;
    try { body = JSON.parse(await readBody(req, MAX_JSON_BODY)); } catch (e) {
      return sendJson(res, e.status || 400, { error: 'invalid_request', error_description: e.status ? e.message : 'the body is not valid JSON' });
    }
    if (!body || typeof body !== 'object' || !validCallbackUrl(body.callbackUrl)) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'callbackUrl must be an absolute http(s) URL without fragment' });
    }
    const existing = exts.get(extensionId);
    if (!existing && typeof body.tenantId !== 'string') {
      return sendJson(res, 404, { error: 'not_found', error_description: `unknown extension ${extensionId} (give tenantId to create it)` });
    }
    if (existing && body.tenantId !== undefined && body.tenantId !== existing.tenantId) {
      return sendJson(res, 409, { error: 'conflict', error_description: 'the extension belongs to another tenant' });
    }
    if (body.frameUrl !== undefined && !validCallbackUrl(body.frameUrl)) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'frameUrl must be an absolute http(s) URL' });
    }
    const rec = addExtension({
      ...(existing || {}),
      tenantId: existing ? existing.tenantId : body.tenantId,
      extensionId,
      callbackUrl: body.callbackUrl,
      frameUrl: body.frameUrl ?? existing?.frameUrl,
      name: typeof body.name === 'string' && body.name ? body.name : existing?.name,
    });
    log(`app registered for ${extensionId}: ${rec.callbackUrl}`);
    return sendJson(res, existing ? 200 : 201, rec);
  }

  // -- routing ---------------------------------------------------------------------------------

  async function route(req, res) {
    const url = new URL(req.url, 'http://console.invalid');
    const path = url.pathname;
    const seg = path.split('/').slice(1).map((s) => { try { return decodeURIComponent(s); } catch { return null; } });
    const m = req.method;

    if (path === '/') {
      if (m !== 'GET' && m !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
      return hostPage(res, exts.values().next().value, url);
    }
    if (path === '/jwks') {
      if (m !== 'GET' && m !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
      return sendJson(res, 200, jwksDoc(), {
        'content-type': 'application/jwk-set+json',
        'cache-control': 'public, max-age=300',
        'access-control-allow-origin': '*',
      });
    }
    if (path === '/api/oauth/token') {
      if (m !== 'POST') return sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' });
      return tokenPost(req, res);
    }
    if (seg.length === 4 && seg[0] === 'api' && seg[1] === 'extensions' && seg[3] === 'app' && seg[2]) {
      if (m !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
      return registerApp(req, res, seg[2]);
    }
    if (seg.length === 4 && seg[0] === 'tenants' && seg[2] === 'extensions' && seg[1] && seg[3]) {
      const ext = exts.get(seg[3]);
      if (!ext || ext.tenantId !== seg[1]) return errorPage(res, 404, 'Not found', 'No such extension in this tenant.', 'not_found');
      if (m !== 'GET' && m !== 'HEAD') return errorPage(res, 405, 'Method not allowed', 'Use GET.', 'method_not_allowed');
      return hostPage(res, ext, url);
    }
    if (seg.length === 5 && seg[0] === 'tenants' && seg[2] === 'extension' && seg[4] === 'authz' && seg[1] && seg[3]) {
      const ext = exts.get(seg[3]);
      if (!ext || ext.tenantId !== seg[1]) return errorPage(res, 404, 'Not found', 'No such extension in this tenant.', 'not_found');
      if (m === 'GET' || m === 'HEAD') return authzGet(req, res, url, ext);
      if (m === 'POST') return authzPost(req, res, ext);
      return errorPage(res, 405, 'Method not allowed', 'Use GET or POST.', 'method_not_allowed');
    }
    if (path === '/favicon.ico') { res.writeHead(204).end(); return undefined; }
    return errorPage(res, 404, 'Not found', 'This console page does not exist.', 'not_found');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e) => {
      log(`error: ${e?.stack || e}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  server.on('clientError', (err, socket) => { socket.destroy(); });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const localUrl = `http://${host}:${actualPort}`;
  if (publicOrigin) issuer = new URL(publicOrigin).origin;
  else if (publicHostname) issuer = `http://${publicHostname}:${actualPort}`;
  else issuer = localUrl;

  return {
    /** Public origin of the console (the issuer); open this in a browser. */
    url: issuer,
    issuer,
    /** Same server addressed by its listening IP (for server-to-server calls). */
    localUrl,
    port: actualPort,
    tokenEndpoint: `${issuer}/api/oauth/token`,
    jwksUri: `${issuer}/jwks`,
    /** The published JWK Set (object, current keys). */
    get jwks() { return jwksDoc(); },
    authzUrl(tenantId, extensionId, state) {
      const u = new URL(`/tenants/${encodeURIComponent(tenantId)}/extension/${encodeURIComponent(extensionId)}/authz`, issuer);
      if (state !== undefined) u.searchParams.set('state', state);
      return u.href;
    },
    hostPageUrl(tenantId, extensionId) {
      return new URL(`/tenants/${encodeURIComponent(tenantId)}/extensions/${encodeURIComponent(extensionId)}`, issuer).href;
    },
    registerExtension: addExtension,
    extensions: () => [...exts.values()].map((e) => ({ ...e })),
    users,
    /** Make a new signing key; the previous keys stay published. Returns the new kid. */
    rotateKey() { const k = newSigningKey(); keys.push(k); return k.kid; },
    /** Stop publishing (and never sign with) the key `kid`; the current signing key cannot be removed. */
    removeKey(kid) {
      const i = keys.findIndex((k) => k.kid === kid);
      if (i < 0) return false;
      if (i === keys.length - 1) throw new Error('cannot remove the current signing key (rotateKey first)');
      keys.splice(i, 1);
      return true;
    },
    get signingKid() { return keys[keys.length - 1].kid; },
    // Test hooks
    issuedCodes: () => codesIssued,
    get tokenRequests() { return tokenRequestCount; },
    get lastTokenRequest() { return lastTokenRequest; },
    get lastTokenRequestRaw() { return lastTokenRequestRaw; },
    expireCodes() { const t = nowMs(); for (const rec of codes.values()) rec.expiresAt = Math.min(rec.expiresAt, t - 1); },
    async close() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      'public-origin': { type: 'string' },
      'public-hostname': { type: 'string', default: 'localhost' },
      'extension-url': { type: 'string' },
      'callback-url': { type: 'string' },
      tenant: { type: 'string', default: 'demo-tenant' },
      'extension-id': { type: 'string', default: 'demo-extension' },
      name: { type: 'string', default: 'Demo Extension' },
      'code-ttl': { type: 'string', default: '60' },
      'token-ttl': { type: 'string', default: '3600' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: node www/console/server.mjs [options]
  --port N                 listen port on 127.0.0.1 (default 8787, 0 = ephemeral)
  --extension-url URL      page framed by the host page (the extension frontend)
  --callback-url URL       registered callbackUrl (default: the extension URL)
  --tenant ID              tenant id (default demo-tenant)
  --extension-id ID        extension id (default demo-extension)
  --name TEXT              extension display name
  --public-hostname NAME   hostname used in URLs and as issuer (default localhost)
  --public-origin URL      full public origin (overrides --public-hostname)
  --code-ttl SEC / --token-ttl SEC
`);
    process.exit(0);
  }
  if (values.host !== '127.0.0.1' && values.host !== 'localhost' && values.host !== '::1') {
    process.stderr.write('refusing to listen on a non-loopback address\n');
    process.exit(2);
  }
  const extensions = [];
  if (values['extension-url']) {
    extensions.push({
      tenantId: values.tenant,
      extensionId: values['extension-id'],
      name: values.name,
      frameUrl: values['extension-url'],
      callbackUrl: values['callback-url'] || values['extension-url'],
    });
  }
  const c = await startConsole({
    host: values.host,
    port: Number(values.port),
    extensions,
    publicOrigin: values['public-origin'],
    publicHostname: values['public-hostname'],
    codeTtlSec: Number(values['code-ttl']),
    tokenTtlSec: Number(values['token-ttl']),
    log: values.quiet ? () => {} : (line) => process.stdout.write(`[dev-console] ${line}\n`),
  });
  process.stdout.write(`Dev Console listening on ${c.localUrl}\n  open      ${c.url}/\n  token     POST ${c.tokenEndpoint}\n  jwks      ${c.jwksUri}\n`);
  for (const e of c.extensions()) {
    process.stdout.write(`  extension ${e.tenantId}/${e.extensionId}: frame ${e.frameUrl}, callbackUrl ${e.callbackUrl}\n`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await c.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

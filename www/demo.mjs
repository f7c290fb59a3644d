#!/usr/bin/env node
// The extension-sso demo: a console framing an extension, and the extension's backend, on one
// machine, no external account.
//
//   ./scripts/demo                 # installs, builds pkg/, then runs this file
//   node www/demo.mjs              # pkg/ already built
//
// Three servers, all on 127.0.0.1:
//   Dev Console        http://localhost:8787   host page framing the extension, authz + consent,
//                                               POST /api/oauth/token, GET /jwks (www/console/server.mjs)
//   Extension          http://127.0.0.1:8788   frontend (www/extension/), the built package (/pkg/),
//                                               and its backend: the handoff endpoints made with
//                                               createHandoffHandler + JwksVerifier
//   OpenID Provider    http://127.0.0.1:8789   npm oidc-provider, for the generic 'oauth2' profile
//
// The console is reached as `localhost` and the extension as `127.0.0.1`: two different sites, so the
// extension's iframe is really cross-site, as in production.
//
// As a module (tests): `const demo = await startDemo({ consolePort: 0, extensionPort: 0, oidcPort: 0 })`.
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { startConsole } from './console/server.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXTENSION_DIR = join(ROOT, 'www', 'extension');
const PKG_DIR = join(ROOT, 'pkg');

export const TENANT_ID = 'demo-tenant';
export const EXTENSION_ID = 'demo-extension';
export const OIDC_CLIENT_ID = 'demo-extension-oidc';
// A demo secret for a local, throw-away OpenID Provider (client_secret_basic).
export const OIDC_CLIENT_SECRET = 'demo-only-secret-7d1f2c9a4b3e';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

// The extension's pages: its own scripts and styles, the package from /pkg/, its backend (connect).
// frame-ancestors: only the console may frame the extension.
function extensionCsp(consoleOrigin) {
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors 'self' ${consoleOrigin}`,
  ].join('; ');
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(server.address().port); });
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function sendJson(res, status, body, headers = {}) {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': buf.length, 'cache-control': 'no-store', ...headers });
  res.end(buf);
}

function notFound(res) {
  sendJson(res, 404, { error: 'not_found' });
}

/** A file under `dir`, or null (no traversal, no symlink escape, regular files only). */
async function fileUnder(dir, relPath) {
  if (relPath.includes('\0')) return null;
  const base = await realpath(dir).catch(() => null);
  if (!base) return null;
  const real = await realpath(join(base, relPath)).catch(() => null);
  if (!real || !real.startsWith(base + sep)) return null;
  const st = await stat(real).catch(() => null);
  return st?.isFile() ? real : null;
}

async function serveFile(res, file, headers = {}) {
  const body = await readFile(file);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
    ...headers,
  });
  res.end(body);
}

/** Imports the built package's Node entries (pkg/, made by scripts/build). */
async function loadPackage() {
  const entry = (name) => pathToFileURL(join(PKG_DIR, `${name}.node.js`)).href;
  for (const name of ['client', 'verifier', 'server']) {
    if (!existsSync(join(PKG_DIR, `${name}.node.js`))) {
      throw new Error(`pkg/${name}.node.js is missing: build the package first (scripts/build), or run ./scripts/demo`);
    }
  }
  const [verifier, server] = await Promise.all([import(entry('verifier')), import(entry('server'))]);
  return { JwksVerifier: verifier.JwksVerifier, createHandoffHandler: server.createHandoffHandler, toNodeListener: server.toNodeListener };
}

/**
 * Starts the demo. Ports: 0 = ephemeral (tests).
 * @param {object} [o]
 * @param {number} [o.consolePort=8787]
 * @param {number} [o.extensionPort=8788]
 * @param {number} [o.oidcPort=8789]
 * @param {boolean} [o.oidc=true]        start the OpenID Provider (second scenario)
 * @param {number} [o.codeTtlSec=60]     console authorization code lifetime
 * @param {(line: string) => void} [o.log]
 */
export async function startDemo({
  consolePort = 8787,
  extensionPort = 8788,
  oidcPort = 8789,
  oidc = true,
  codeTtlSec = 60,
  log = () => {},
} = {}) {
  const { JwksVerifier, createHandoffHandler, toNodeListener } = await loadPackage();
  const closers = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((e) => log(`close: ${e?.message ?? e}`));
    }
  };

  try {
    // 1. The extension server listens first: the console registers its URLs.
    const routes = { console: null, oidc: null, config: null };
    const handoffs = []; // { scenario, status } of every handoff request (tests)
    const extServer = createServer((req, res) => {
      extensionRoute(req, res).catch((e) => {
        log(`extension: ${e?.stack ?? e}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
        else res.destroy();
      });
    });
    extServer.on('clientError', (_err, socket) => socket.destroy());
    const extPort = await listen(extServer, extensionPort);
    closers.push(() => closeServer(extServer));
    const extOrigin = `http://127.0.0.1:${extPort}`;
    const extensionUrl = `${extOrigin}/extension/`;
    const oauth2PageUrl = `${extOrigin}/extension/oauth2.html`;

    // 2. The Dev Console, public at http://localhost:<port>.
    const devConsole = await startConsole({
      port: consolePort,
      publicHostname: 'localhost',
      codeTtlSec,
      extensions: [{
        tenantId: TENANT_ID,
        extensionId: EXTENSION_ID,
        name: 'Demo Extension',
        frameUrl: extensionUrl,
        callbackUrl: extensionUrl,
      }],
      log: (line) => log(`[console] ${line}`),
    });
    closers.push(() => devConsole.close());

    // 3. The OpenID Provider for the generic oauth2 profile (dev dependency oidc-provider).
    let op = null;
    if (oidc) {
      // Its development-mode warnings (in-memory adapter, devInteractions, Node version) are expected
      // here: they go to the demo's log instead of the console.
      const warn = console.warn;
      console.warn = (...args) => {
        if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) log(`[oidc-provider] ${args[0].replace(/\x1b\[[0-9;]*m/g, '')}`);
        else warn(...args);
      };
      try {
        const { startOidcProvider } = await import('../tests/support/oidc.mjs');
        op = await startOidcProvider({
          port: oidcPort,
          audience: 'urn:extension-sso:demo-api',
          resource: 'urn:extension-sso:demo-api',
          clients: [{
            client_id: OIDC_CLIENT_ID,
            client_secret: OIDC_CLIENT_SECRET,
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [oauth2PageUrl],
          }],
        });
      } finally {
        console.warn = warn;
      }
      closers.push(() => op.close());
    }

    // 4. The extension backend: one handoff handler per scenario.
    // Server-to-server calls go to the console's listening address (127.0.0.1); the issuer the
    // tokens carry is its public origin (http://localhost:<port>).
    const consoleVerifier = new JwksVerifier({
      jwksUri: `${devConsole.localUrl}/jwks`,
      issuer: devConsole.issuer,
      audience: EXTENSION_ID,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      requiredClaims: ['sub', 'iat'],
    });
    const onError = (error, ctx) => log(`[backend] handoff ${ctx.status}: ${error?.code ?? error?.name}: ${error?.message}`);
    const consoleHandler = createHandoffHandler({
      profile: 'mia-console',
      consoleUrl: devConsole.localUrl,
      allowedOrigins: [extOrigin],
      verifier: consoleVerifier,
      tokenPath: '/api/console/token',
      userinfoPath: '/api/console/userinfo',
      onError,
    });
    routes.console = toNodeListener(consoleHandler, { origin: extOrigin });

    if (op) {
      const oidcVerifier = new JwksVerifier({
        jwksUri: op.jwksUri,
        issuer: op.issuer,
        audience: op.audience,
        typ: 'at+jwt',
      });
      const oidcHandler = createHandoffHandler({
        profile: 'oauth2',
        // The ID Token is validated against the provider's keys (discovery).
        issuer: op.issuer,
        tokenEndpoint: op.tokenEndpoint,
        clientId: OIDC_CLIENT_ID,
        clientSecret: OIDC_CLIENT_SECRET,
        clientAuth: 'client_secret_basic',
        redirectUri: oauth2PageUrl,
        allowedOrigins: [extOrigin],
        verifier: oidcVerifier,
        tokenPath: '/api/oidc/token',
        userinfoPath: '/api/oidc/userinfo',
        onError,
      });
      routes.oidc = toNodeListener(oidcHandler, { origin: extOrigin });
    }

    // What the frontend needs to know (www/extension/config.json).
    routes.config = {
      console: {
        profile: 'mia-console',
        consoleUrl: devConsole.url,
        tenantId: TENANT_ID,
        extensionId: EXTENSION_ID,
        tokenHandoffUrl: '/api/console/token',
        userinfoUrl: '/api/console/userinfo',
        hostOrigin: devConsole.url,
        hostPageUrl: devConsole.hostPageUrl(TENANT_ID, EXTENSION_ID),
        jwksUri: devConsole.jwksUri,
      },
      oidc: op ? {
        profile: 'oauth2',
        authorizationEndpoint: op.authorizationEndpoint,
        clientId: OIDC_CLIENT_ID,
        redirectUri: oauth2PageUrl,
        scope: 'openid profile email',
        issuer: op.issuer,
        tokenHandoffUrl: '/api/oidc/token',
        userinfoUrl: '/api/oidc/userinfo',
        jwksUri: op.jwksUri,
      } : null,
    };

    async function extensionRoute(req, res) {
      const url = new URL(req.url, extOrigin);
      const path = url.pathname;
      if (path.startsWith('/api/console/') || path.startsWith('/api/oidc/')) {
        const scenario = path.startsWith('/api/console/') ? 'console' : 'oidc';
        const listener = routes[scenario];
        if (!listener) return notFound(res);
        if (path.endsWith('/token') && req.method === 'POST') {
          res.once('finish', () => handoffs.push({ scenario, status: res.statusCode }));
        }
        log(`[backend] ${req.method} ${path}`);
        return listener(req, res);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
      }
      if (path === '/' || path === '/extension') {
        res.writeHead(302, { location: '/extension/' }).end();
        return undefined;
      }
      if (path === '/favicon.ico') { res.writeHead(204).end(); return undefined; }
      if (path === '/extension/config.json') return sendJson(res, 200, routes.config);
      if (path.startsWith('/extension/')) {
        let rel;
        try { rel = decodeURIComponent(path.slice('/extension/'.length)) || 'index.html'; } catch { return notFound(res); }
        const file = await fileUnder(EXTENSION_DIR, rel);
        if (!file) return notFound(res);
        const headers = extname(file) === '.html'
          ? { 'content-security-policy': extensionCsp(devConsole.url), 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' }
          : {};
        return serveFile(res, file, headers);
      }
      if (path.startsWith('/pkg/')) {
        let rel;
        try { rel = decodeURIComponent(path.slice('/pkg/'.length)); } catch { return notFound(res); }
        const file = await fileUnder(PKG_DIR, rel);
        if (!file) return notFound(res);
        return serveFile(res, file);
      }
      return notFound(res);
    }

    return {
      /** Open this: the console's host page framing the extension. */
      url: devConsole.hostPageUrl(TENANT_ID, EXTENSION_ID),
      console: devConsole,
      op,
      extensionOrigin: extOrigin,
      extensionUrl,
      oauth2PageUrl,
      tenantId: TENANT_ID,
      extensionId: EXTENSION_ID,
      /** Every handoff request the backend answered: { scenario: 'console'|'oidc', status }. */
      handoffs,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
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
      'console-port': { type: 'string', default: '8787' },
      'extension-port': { type: 'string', default: '8788' },
      'oidc-port': { type: 'string', default: '8789' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: node www/demo.mjs [--verbose] [--console-port N] [--extension-port N] [--oidc-port N]
  Starts the Dev Console (http://localhost:8787), the extension and its backend (http://127.0.0.1:8788)
  and an OpenID Provider (http://127.0.0.1:8789), all listening on 127.0.0.1. Port 0 = any free port.
  Needs the built package in pkg/ (scripts/build), or run ./scripts/demo.
`);
    process.exit(0);
  }
  const port = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      process.stderr.write(`demo: --${name} must be a port number (0 = any free port)\n`);
      process.exit(2);
    }
    return n;
  };
  const verbose = values.verbose;
  let demo;
  try {
    demo = await startDemo({
      consolePort: port('console-port'),
      extensionPort: port('extension-port'),
      oidcPort: port('oidc-port'),
      log: verbose ? (line) => process.stdout.write(`${line}\n`) : () => {},
    });
  } catch (e) {
    if (e?.code === 'EADDRINUSE') {
      process.stderr.write(`demo: port ${e.port} is already in use (another demo running?). Stop it, or pick other ports (--help).\n`);
    } else {
      process.stderr.write(`demo: ${e?.message ?? e}\n`);
    }
    process.exit(1);
  }
  const c = demo.console;
  const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
  process.stdout.write(`
${bold('extension-sso demo')} is running (everything on 127.0.0.1; Ctrl-C stops it)

  Open ${bold(demo.url)}

  Dev Console      ${c.url}   host page, login + consent, POST /api/oauth/token, /jwks
  Extension        ${demo.extensionOrigin}   frontend /extension/, package /pkg/, backend /api/console/*, /api/oidc/*
  OpenID Provider  ${demo.op ? demo.op.issuer : '(off)'}   npm oidc-provider (generic oauth2 profile)

  1. In the console, the "Demo Extension" page frames the extension (a different site: 127.0.0.1).
  2. Pick how to reach the login page: Self (inside the frame), Top (the console page navigates,
     through its host bridge) or Popup; click "Log in with the console".
  3. Choose a demo user and Allow (or Deny, to see the error handling).
  4. Back in the frame, the backend exchanges the code with the console and verifies the access
     token against the console's /jwks: the verified claims are shown.
  Second scenario (generic OAuth 2.0 / OpenID Connect, oidc-provider, client_secret_basic + PKCE):
     ${demo.oauth2PageUrl}  (any login name and password on its dev login page)
${verbose ? '' : '\n  (run with --verbose to log requests)\n'}`);
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the demo...\n`);
    const timer = setTimeout(() => process.exit(0), 3000);
    timer.unref();
    await demo.close();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

// The extension's backend on Node 20+: serves the extension's pages, takes the login over from
// the browser (createHandoffHandler), and answers its own API for logged-in users (JwksVerifier).
//
//   OIDC_ISSUER=https://login.example OIDC_CLIENT_ID=my-extension OIDC_CLIENT_SECRET=… \
//   API_AUDIENCE=https://api.my-extension.example PORT=8080 node server.mjs
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHandoffHandler, toNodeListener } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

const { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret, API_AUDIENCE: audience } = process.env;
const port = Number(process.env.PORT ?? 8080);
const origin = process.env.PUBLIC_ORIGIN ?? `http://localhost:${port}`; // where the browser opens the pages

// Access tokens must be JWTs (RFC 9068) signed with the provider's keys, issued for your API;
// discovery: the keys' address comes from the issuer's metadata.
const verifier = new JwksVerifier({ issuer, discovery: true, audience });

const api = toNodeListener(createHandoffHandler({
  profile: 'oauth2',
  issuer, // its metadata gives the token endpoint, and the keys of the ID Tokens it validates
  clientId,
  clientSecret,
  verifier,
  allowedOrigins: [origin],
  tokenPath: '/api/token', // the client's tokenHandoffUrl
  userinfoPath: '/api/userinfo',
}));

// Your own API: only for requests that carry a valid access token.
async function hello(req, res) {
  try {
    const claims = await verifier.verify(req.headers.authorization?.replace(/^Bearer /i, '') ?? '');
    sendJson(res, 200, { hello: claims.sub });
  } catch (error) {
    if (error.retryable) return sendJson(res, 503, { error: 'temporarily_unavailable' }); // the key endpoint is down
    res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
    sendJson(res, 401, { error: 'invalid_token', error_description: error.message });
  }
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

const pages = join(dirname(fileURLToPath(import.meta.url)), '../extension');
const pkg = dirname(createRequire(import.meta.url).resolve('extension-sso/package.json'));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm' };

async function sendFile(res, root, path) {
  const file = join(root, path);
  const body = relative(root, file).startsWith('..') ? null : await readFile(file).catch(() => null);
  if (!body) return sendJson(res, 404, { error: 'not_found' });
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
}

createServer((req, res) => {
  const { pathname } = new URL(req.url, origin);
  if (pathname === '/api/hello') return hello(req, res);
  if (pathname.startsWith('/api/')) return api(req, res);
  if (pathname === '/config.json') {
    return sendJson(res, 200, { issuer, clientId });
  }
  if (pathname.startsWith('/extension-sso/')) return sendFile(res, pkg, pathname.slice('/extension-sso/'.length));
  return sendFile(res, pages, pathname === '/' ? 'index.html' : pathname);
}).listen(port, process.env.HOST ?? 'localhost', () => console.log(`listening on ${origin}`));

// server.d.ts compiles for a server-side project without the DOM library: `lib: es2022` and
// `@types/node` alone, `strict`, no `skipLibCheck` (issue 19).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const USAGE = `
import {
  createHandoffHandler, toNodeListener, ServiceClientTokenProvider, exchangeCode, refreshTokens, matrixTokenLogin,
  identityFromClaims, ExtensionSsoError, errorCodes, type ErrorCode, type NodeRequestLike,
} from '${join(ROOT, 'pkg/server.js')}';
import { createServer } from 'node:http';

const handler = createHandoffHandler({
  issuer: 'https://op.example', clientId: 'c', clientSecret: 's', allowedOrigins: ['https://ext.example'],
  verifier: { verify: async (token: string) => ({ token }) },
  onError: (error, context) => { if (context.level !== 'debug') console.warn(context.status, error.message); },
});
createServer(toNodeListener(handler, { onError: (e) => console.log(e.message) })).listen(0);
const provider = new ServiceClientTokenProvider({ accessKey: 'k', issuerUrl: 'https://i.example', allowInsecureHttp: false });
void provider.ready().then(() => provider.publicJwks().keys.length);
void provider.getToken({ signal: AbortSignal.timeout(1000) });
void exchangeCode({ issuer: 'https://op.example', clientId: 'c', code: 'x', redirectUri: 'r', nonce: 'n', fetch: (url, init) => fetch(url, init) })
  .then((tokens) => tokens.idTokenClaims?.email)
  .catch((e: unknown) => { if (e instanceof ExtensionSsoError) { const code: ErrorCode = e.code; console.log(code, e.retryable); } });
void refreshTokens({ issuer: 'https://op.example', clientId: 'c', refreshToken: 'r' });
void matrixTokenLogin({ homeserverUrl: 'https://matrix.example', loginToken: 't' }).then((s) => s.userId);
console.log(identityFromClaims({ sub: 'u' }).groups, errorCodes().length);
// @ts-expect-error a token endpoint or an issuer is required
void exchangeCode({ clientId: 'c', code: 'x' });
// NodeResponseLike names every member the adapter uses: it listens for 'error' and looks at the
// socket, so a response without them is not one (it would throw at run time).
declare const req: NodeRequestLike;
// @ts-expect-error on, destroyed, writableEnded and socket are missing
void toNodeListener(handler)(req, { headersSent: false, writeHead() {}, write() {}, end() {} });
`;

test('server.d.ts type-checks with lib es2022 + @types/node, strict, no DOM, no skipLibCheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-server-types-'));
  try {
    writeFileSync(join(dir, 'usage.ts'), USAGE);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', lib: ['es2022'], module: 'nodenext', moduleResolution: 'nodenext',
        types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')], skipLibCheck: false,
      },
      files: ['usage.ts'],
    }));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    let out = '';
    try {
      out = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      out = `${e.stdout}${e.stderr}`;
    }
    assert.equal(out.trim(), '', out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

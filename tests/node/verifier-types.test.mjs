// verifier.d.ts as a server-side user compiles it (issue 19): `lib: es2022`
// and @types/node only (no DOM library, no skipLibCheck), tsc --strict, on a
// typical worker-style use: the cache from KV (which answers `T | null`), a
// custom fetch, headers, a signal, `complete`, discovery, exportCache(previous).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('verifier.d.ts compiles with lib es2022 + @types/node alone (tsc --strict, no skipLibCheck)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-types-'));
  try {
    for (const f of ['verifier.d.ts', 'errors.d.ts']) copyFileSync(join(ROOT, 'pkg-template', f), join(dir, f));
    writeFileSync(join(dir, 'usage.ts'), `
import { JwksVerifier, ExtensionSsoError, errorCodes, type JwksCacheSnapshot, type ErrorCode } from './verifier.js';
declare const KV: { get<T>(key: string, type: 'json'): Promise<T | null>; put(key: string, value: string): Promise<void> };
async function handle(token: string, signal: AbortSignal): Promise<number> {
  const cache = await KV.get<JwksCacheSnapshot>('jwks', 'json');
  const verifier = new JwksVerifier({
    jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'ext-123', cache,
    fetch: (input, init) => fetch(input, init), headers: { 'x-tenant': 'acme' },
  });
  const discovered = new JwksVerifier({ issuer: 'https://op.example', audience: null, discovery: true });
  try {
    const claims = await verifier.verify(token, { signal });
    const { payload, protectedHeader } = await discovered.verify(token, { complete: true });
    const fresh = verifier.exportCache(cache);
    if (fresh) await KV.put('jwks', JSON.stringify(fresh));
    const alg: string = protectedHeader.alg;
    const sub: string | undefined = payload.sub;
    return claims.exp + alg.length + (sub ?? '').length;
  } catch (e) {
    if (e instanceof ExtensionSsoError) {
      const code: ErrorCode = e.code;
      return code === 'aborted' || e.retryable ? 503 : 401;
    }
    throw e;
  }
}
// A local set has no discovery (it would throw invalid_options).
// @ts-expect-error discovery is not an option of fromJwks
JwksVerifier.fromJwks({ keys: [] }, { issuer: 'https://console.example', audience: null, discovery: true });
void handle; void errorCodes;
`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
        lib: ['es2022'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')], skipLibCheck: false,
      },
      files: ['usage.ts'],
    }));
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

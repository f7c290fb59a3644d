// The packed tarball is what users get: pack pkg/, install it into an empty
// project, and import every entry in Node and inside workerd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from '../support/workerd.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRIES = ['client', 'verifier', 'server'];
let project;
let tarball;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'ext-sso-pack-'));
  const out = execFileSync('npm', ['pack', join(ROOT, 'pkg'), '--json', '--pack-destination', project], { encoding: 'utf8' });
  tarball = JSON.parse(out)[0];
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(project, tarball.filename)], { cwd: project, stdio: 'pipe' });
});

after(() => rmSync(project, { recursive: true, force: true }));

test('the tarball holds exactly the package files', () => {
  const files = tarball.files.map((f) => f.path).sort();
  const expected = [
    'README.md', 'package.json',
    'index.d.ts', 'client.d.ts', 'verifier.d.ts', 'server.d.ts', 'errors.d.ts',
    // The JS layer and the glue ship minified, each with its source map.
    ...['common', 'runtime-node', 'runtime-web', 'signing-node', 'signing-web', ...ENTRIES].flatMap((e) => [`lib/${e}.js`, `lib/${e}.js.map`]),
    ...['index', ...ENTRIES].flatMap((e) => ['node', 'workerd', 'browser'].map((r) => `${e}.${r}.js`)),
    // A browser entry is one bundle (loader + JS layer + any glue), with its map.
    ...ENTRIES.map((e) => `${e}.browser.js.map`),
    ...ENTRIES.map((e) => `wasm/${e}/extension_sso_${e}_bg.wasm`),
    // wasm-bindgen's glue, for the entries that have it (the client and
    // the verifier have none: `bindgen = false` in wasm-pack.toml).
    ...['server'].flatMap((e) => [`wasm/${e}/extension_sso_${e}.js`, `wasm/${e}/extension_sso_${e}.js.map`]),
  ].sort();
  assert.deepEqual(files, expected);
});

for (const spec of ['extension-sso', ...ENTRIES.map((e) => `extension-sso/${e}`)]) {
  test(`Node imports ${spec} with no manual init`, () => {
    const script = `import * as m from '${spec}'; console.log(JSON.stringify({ keys: Object.keys(m).sort(), codes: m.errorCodes().length }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' }));
    assert.ok(out.codes > 10, 'error codes come from the wasm module');
    assert.ok(out.keys.includes('default'), 'default export init() exists');
  });
}

test('workerd imports every entry through the workerd condition', async () => {
  const source = `
    import * as root from 'extension-sso';
    ${ENTRIES.map((e) => `import * as ${e} from 'extension-sso/${e}';`).join('\n')}
    export default { async fetch() {
      return Response.json({ root: root.errorCodes().length, ${ENTRIES.map((e) => `${e}: ${e}.errorCodes().length`).join(', ')} });
    } };`;
  const worker = await startWorker(source, { resolveDir: project });
  try {
    const body = await (await fetch(worker.url + '/')).json();
    for (const key of ['root', ...ENTRIES]) assert.ok(body[key] > 10, `${key} answered ${body[key]}`);
  } finally {
    await worker.stop();
  }
});

test('the TypeScript types check against a typical use of every entry (tsc --strict)', () => {
  writeFileSync(join(project, 'usage.ts'), `
import init, { ExtensionClient, JwksVerifier, exchangeCode, createHandoffHandler, errorCodes } from 'extension-sso';
import type { ErrorCode, ExtensionSsoError } from 'extension-sso';
import initClient, { ExtensionClient as Client } from 'extension-sso/client';
import { JwksVerifier as Verifier, ExtensionSsoError as VerifierError } from 'extension-sso/verifier';
import { ServiceClientTokenProvider, toNodeListener } from 'extension-sso/server';

async function main(token: string): Promise<void> {
  await init();
  await initClient();
  const verifier = new Verifier({ jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'ext-123' });
  const local = JwksVerifier.fromJwks({ keys: [] }, { issuer: 'i', audience: null });
  const claims = await verifier.verify(token);
  const exp: number = claims.exp;
  void local; void exp;
  const client = new Client({ profile: 'mia-console', consoleUrl: 'https://console.example', tenantId: 't', extensionId: 'e', tokenHandoffUrl: '/api/token', navigation: 'popup' });
  void client; void ExtensionClient;
  const tokens = await exchangeCode({ profile: 'mia-console', consoleUrl: 'https://console.example', code: 'c', state: 's' });
  const at: string = tokens.accessToken;
  void at;
  const handler = createHandoffHandler({ profile: 'mia-console', consoleUrl: 'https://console.example', allowedOrigins: ['https://ext.example'], verifier });
  void toNodeListener(handler);
  void new ServiceClientTokenProvider('key', 'https://issuer.example');
  const codes: ErrorCode[] = errorCodes();
  void codes;
  try { await verifier.verify(token); } catch (e) {
    const err = e as ExtensionSsoError;
    if (err.code === 'expired' || err.retryable) return;
    if (e instanceof VerifierError && e.code === 'aborted') return;
  }
}
void main;
`);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [], skipLibCheck: false },
    files: ['usage.ts'],
  }));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
  }
});

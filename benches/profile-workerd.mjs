// Profiles JwksVerifier.verify inside the real workerd through its inspector
// (Chrome DevTools protocol): starts workerd with --inspector-addr, samples
// the CPU while the worker verifies one token N times, and prints where the
// time goes, by function (self time), like `node --cpu-prof` would.
//
//   node benches/profile-workerd.mjs [--alg RS256] [--n 20000] [--top 30] [--out profile.cpuprofile]
//                                    [--pkg <pkg dir>]
//
// `--pkg` profiles another build of the package (e.g. a copy of pkg/ with a
// named wasm) instead of the installed `extension-sso`.
// The signature check (crypto.subtle.verify) shows as the native frames
// under it; everything else is ours, jose's absent. Names of wasm functions
// are those the build kept (stripped in the npm build: build a named wasm
// first to see Rust names, see the verifier notes).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import WebSocket from 'ws';
import { bundleWorker, WORKERD } from '../tests/support/workerd.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const ALG = opt('alg', 'RS256');
const N = Number(opt('n', 20000));
const TOP = Number(opt('top', 30));
const OUT = opt('out', undefined);
const PKG = opt('pkg', undefined);
const ENTRY = PKG ? JSON.stringify(resolve(PKG, 'verifier.workerd.js')) : "'extension-sso/verifier'";
const ISS = 'https://console.example';
const AUD = 'ext-123';

const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: ALG, use: 'sig' };
const token = await new SignJWT({ sub: 'user-1', name: 'Ada', email: 'ada@example.com', scope: 'read write' })
  .setProtectedHeader({ alg: ALG, kid: 'k', typ: 'at+jwt' }).setIssuer(ISS).setAudience(AUD).setJti('t')
  .setIssuedAt().setExpirationTime('2h').sign(privateKey);

const { code, wasm } = await bundleWorker(`
  import { JwksVerifier } from ${ENTRY};
  const verifier = JwksVerifier.fromJwks(${JSON.stringify({ keys: [jwk] })}, { issuer: '${ISS}', audience: '${AUD}' });
  export default { async fetch(req) {
    const n = Number(new URL(req.url).searchParams.get('n') ?? 0);
    for (let i = 0; i < n; i++) await verifier.verify(${JSON.stringify(token)});
    return new Response('ok');
  } };`);
const dir = mkdtempSync(join(tmpdir(), 'ext-sso-profile-'));
writeFileSync(join(dir, 'worker.js'), code);
const modules = ['(name = "worker.js", esModule = embed "worker.js")'];
for (const [name, path] of wasm) {
  copyFileSync(path, join(dir, name));
  modules.push(`(name = "${name}", wasm = embed "${name}")`);
}
const port = 20000 + Math.floor(Math.random() * 20000);
const inspector = port + 1;
writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = ( modules = [ ${modules.join(', ')} ], compatibilityDate = "2025-09-01" );
`);
const child = spawn(WORKERD, ['serve', join(dir, 'config.capnp'), `--inspector-addr=127.0.0.1:${inspector}`], { stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
try {
  for (let tries = 0; ; tries++) {
    try { await fetch(`${url}/?n=1`); break; } catch { if (tries > 100) throw new Error('workerd did not start'); }
    await new Promise((r) => setTimeout(r, 100));
  }
  await fetch(`${url}/?n=2000`); // warm-up: tier-up, key import
  const targets = await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((resolve) => { pending.set(++id, resolve); ws.send(JSON.stringify({ id, method, params })); });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 50 });
  await send('Profiler.start');
  const t0 = performance.now();
  await fetch(`${url}/?n=${N}`);
  const ms = performance.now() - t0;
  const { result } = await send('Profiler.stop');
  ws.close();
  const profile = result.profile;
  if (OUT) writeFileSync(OUT, JSON.stringify(profile));
  const self = new Map();
  const dt = new Map();
  profile.samples.forEach((node, i) => dt.set(node, (dt.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  for (const node of profile.nodes) {
    const t = dt.get(node.id) ?? 0;
    total += t;
    const name = node.callFrame.functionName || `(${node.callFrame.url.split('/').pop() || 'anonymous'})`;
    self.set(name, (self.get(name) ?? 0) + t);
  }
  console.log(`workerd ${ALG}: ${N} verifications in ${ms.toFixed(0)} ms (${(ms * 1000 / N).toFixed(2)} µs each, one request)`);
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(100 * t / total).toFixed(1).padStart(5)} %  ${(ms * 1000 / N * t / total).toFixed(2).padStart(6)} µs  ${name.slice(0, 100)}`);
  }
} finally {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

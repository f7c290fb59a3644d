// Benchmark: JwksVerifier.verify against the limit and the peer, in Node and
// inside the real workerd, in one run with rounds interleaved.
//
//   node benches/verify.mjs [--seconds 0.5] [--rounds 5] [--before <pkg dir>]
//                           [--no-node] [--no-workerd] [--no-cold] [--no-remembered]
//                           [--algs RS256,PS256]
//
// Columns, per algorithm and per mode:
//   bare    the runtime's own signature check alone: node:crypto.verify
//           (Node) or crypto.subtle.verify (workerd) with the key built once
//           and the signing input and signature already decoded; nothing is
//           parsed or checked. This is the limit: no verifier can beat it.
//   ours    JwksVerifier.verify with default options (the verified-token
//           cache off): every call parses, checks and verifies in full.
//   jose    jose's jwtVerify + createLocalJWKSet, the same options.
//   before  (--before) the same JwksVerifier from another build of the
//           package, e.g. the last commit of main, for before/after tables.
// Modes: `same` verifies one token again and again; `rotating` cycles
// through 64 distinct tokens of the key (as a server sees many users).
// Ratios: ours/bare (1.00 is the limit) and ours/jose (throughput).
//
// No threshold is enforced anywhere: this only measures (timing thresholds
// never go in tests).
import { createPublicKey, constants, verify as nodeVerify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeyPair, exportJWK, SignJWT, jwtVerify, createLocalJWKSet } from 'jose';
import { JwksVerifier } from 'extension-sso/verifier';
import { startWorker } from '../tests/support/workerd.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const SECONDS = Number(opt('seconds', 0.5));
const ROUNDS = Number(opt('rounds', 5));
const BEFORE = opt('before', undefined) && resolve(opt('before'));
const ALGS = opt('algs', 'ES256,RS256,PS256,EdDSA').split(',');
const MODES = ['same', 'rotating'];
const POOL = 64;
const ISS = 'https://console.example';
const AUD = 'ext-123';

// --- fixtures ----------------------------------------------------------------

async function fixtures() {
  const keys = [];
  const tokens = {};
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' };
    keys.push(jwk);
    tokens[alg] = [];
    for (let i = 0; i < POOL; i++) {
      tokens[alg].push(await new SignJWT({ sub: `user-${i}`, name: 'Ada', email: 'ada@example.com', scope: 'read write' })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(ISS).setAudience(AUD).setJti(`t-${i}`).setIssuedAt().setExpirationTime('2h')
        .sign(privateKey));
    }
  }
  return { jwks: { keys }, tokens };
}

// The signing input and signature of a token, decoded (what the bare check starts from).
const decodeToken = (token) => {
  const dot = token.lastIndexOf('.');
  return { input: Buffer.from(token.slice(0, dot), 'latin1'), signature: Buffer.from(token.slice(dot + 1), 'base64url') };
};

// The measuring loop: `make(impl, alg, mode)` returns fn(i) verifying the
// i-th call's token.
async function measure(fn, seconds) {
  for (let i = 0; i < 300; i++) await fn(i); // warm-up
  let n = 0; const t0 = performance.now(); const end = t0 + seconds * 1000; let t;
  while ((t = performance.now()) < end) { for (let i = 0; i < 64; i++) await fn(n + i); n += 64; }
  return n / ((t - t0) / 1000);
}
async function compare(make, impls, seconds, rounds) {
  const out = {};
  for (const alg of ALGS) for (const mode of MODES) out[`${alg} ${mode}`] = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < rounds; r++) {
    for (const alg of ALGS) for (const mode of MODES) {
      for (const impl of impls) out[`${alg} ${mode}`][impl].push(await measure(make(impl, alg, mode), seconds));
    }
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function print(title, res, impls) {
  console.log(`\n${title}  (tokens/s, median of ${ROUNDS} interleaved rounds)`);
  const head = ['row'.padEnd(15), ...impls.map((i) => i.padStart(9)), 'ours/bare'.padStart(10), 'ours/jose'.padStart(10)];
  if (impls.includes('before')) head.push('before/bare'.padStart(12), 'before/jose'.padStart(12));
  console.log(head.join(' '));
  for (const [row, r] of Object.entries(res)) {
    const m = Object.fromEntries(impls.map((i) => [i, median(r[i])]));
    const cells = [row.padEnd(15), ...impls.map((i) => m[i].toFixed(0).padStart(9)),
      (m.ours / m.bare).toFixed(2).padStart(10), (m.ours / m.jose).toFixed(2).padStart(10)];
    if (m.before !== undefined) cells.push((m.before / m.bare).toFixed(2).padStart(12), (m.before / m.jose).toFixed(2).padStart(12));
    console.log(cells.join(' '));
  }
}

const { jwks, tokens } = await fixtures();
const impls = ['bare', 'ours', 'jose', ...(BEFORE ? ['before'] : [])];

// --- cold start in Node --------------------------------------------------------
// A fresh process per sample, from `import` to the first verified token, ours
// (and before) vs jose, alternating; median of 9 per algorithm.
if (!args.includes('--no-cold')) {
  const run = (code) => Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }));
  const script = (alg, importLine, verifyLine) => `const jwks = ${JSON.stringify(jwks)}; const token = ${JSON.stringify(tokens[alg][0])};
    const t0 = performance.now();
    ${importLine}
    ${verifyLine}
    console.log(performance.now() - t0);`;
  const ourVerify = `await JwksVerifier.fromJwks(jwks, { issuer: '${ISS}', audience: '${AUD}' }).verify(token);`;
  const cold = {
    ours: (alg) => script(alg, "const { JwksVerifier } = await import('extension-sso/verifier');", ourVerify),
    jose: (alg) => script(alg, "const { jwtVerify, createLocalJWKSet } = await import('jose');",
      `await jwtVerify(token, createLocalJWKSet(jwks), { issuer: '${ISS}', audience: '${AUD}' });`),
  };
  if (BEFORE) {
    cold.before = (alg) => script(alg, `const { JwksVerifier } = await import(${JSON.stringify(join(BEFORE, 'verifier.node.js'))});`, ourVerify);
  }
  console.log('\nCold start in Node (fresh process: import -> first verified token, ms, median of 9)');
  console.log(['alg'.padEnd(6), ...Object.keys(cold).map((k) => k.padStart(8)), 'ours/jose'.padStart(10)].join(' '));
  for (const alg of ALGS) {
    const samples = Object.fromEntries(Object.keys(cold).map((k) => [k, []]));
    for (let i = 0; i < 9; i++) for (const k of Object.keys(cold)) samples[k].push(run(cold[k](alg)));
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    console.log([alg.padEnd(6), ...Object.keys(cold).map((k) => m[k].toFixed(1).padStart(8)), (m.ours / m.jose).toFixed(2).padStart(10)].join(' '));
  }
}

// --- Node ----------------------------------------------------------------------

const HASH = { ES256: 'sha256', RS256: 'sha256', PS256: 'sha256', EdDSA: null };
function bareNodeKey(jwk) {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  if (jwk.alg === 'ES256') return { key, dsaEncoding: 'ieee-p1363' };
  if (jwk.alg === 'PS256') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  return key;
}

const options = { issuer: ISS, audience: AUD };
const ours = JwksVerifier.fromJwks(jwks, options);
const before = BEFORE ? (await import(join(BEFORE, 'verifier.node.js'))).JwksVerifier.fromJwks(jwks, options) : undefined;
const joseSet = createLocalJWKSet(jwks);
const bareNode = Object.fromEntries(ALGS.map((alg) => {
  const key = bareNodeKey(jwks.keys.find((k) => k.alg === alg));
  return [alg, { key, decoded: tokens[alg].map(decodeToken) }];
}));
const pick = (alg, mode, i) => tokens[alg][mode === 'same' ? 0 : i % POOL];
function makeNode(impl, alg, mode) {
  if (impl === 'bare') {
    const { key, decoded } = bareNode[alg];
    const hash = HASH[alg];
    return (i) => {
      const d = decoded[mode === 'same' ? 0 : i % POOL];
      if (!nodeVerify(hash, d.input, key, d.signature)) throw new Error('bare check failed');
    };
  }
  if (impl === 'jose') return (i) => jwtVerify(pick(alg, mode, i), joseSet, options);
  const v = impl === 'ours' ? ours : before;
  return (i) => v.verify(pick(alg, mode, i));
}
// Every implementation must accept every token before anything is timed.
for (const alg of ALGS) for (const mode of MODES) for (const impl of impls) {
  for (let i = 0; i < 3; i++) await makeNode(impl, alg, mode)(i);
}
if (!args.includes('--no-node')) {
  print(`Node ${process.version}`, await compare(makeNode, impls, SECONDS, ROUNDS), impls);
}
if (!args.includes('--no-node') && !args.includes('--no-remembered')) {
  const remembering = JwksVerifier.fromJwks(jwks, { ...options, verifiedTokenCacheSize: 1000 });
  const make = (impl, alg, mode) => (impl === 'ours' ? (i) => remembering.verify(pick(alg, mode, i)) : makeNode(impl, alg, mode));
  print(`Node ${process.version}, verifiedTokenCacheSize: 1000 (a hit skips the signature check)`,
    await compare(make, ['bare', 'ours', 'jose'], SECONDS, ROUNDS), ['bare', 'ours', 'jose']);
}

// --- workerd -------------------------------------------------------------------
// Inside workerd the clock only moves on I/O, so the worker runs a fixed number
// of verifications per request and Node times each request; the time of an
// empty request (the HTTP round trip) is measured alongside and subtracted.

if (!args.includes('--no-workerd')) {
  let beforeDir;
  let beforeImport = '';
  if (BEFORE) {
    // Two packages in one worker: the other build's wasm gets its own module name.
    beforeDir = mkdtempSync(join(tmpdir(), 'ext-sso-before-'));
    cpSync(BEFORE, beforeDir, { recursive: true });
    const wasmDir = join(beforeDir, 'wasm', 'verifier');
    copyFileSync(join(wasmDir, 'extension_sso_verifier_bg.wasm'), join(wasmDir, 'before_verifier_bg.wasm'));
    const loader = join(beforeDir, 'verifier.workerd.js');
    writeFileSync(loader, readFileSync(loader, 'utf8').replace('extension_sso_verifier_bg.wasm', 'before_verifier_bg.wasm'));
    beforeImport = `import { JwksVerifier as Before } from ${JSON.stringify(loader)};`;
  }
  const worker = await startWorker(`
    import { JwksVerifier } from 'extension-sso/verifier';
    import { jwtVerify, createLocalJWKSet } from 'jose';
    ${beforeImport}
    const POOL = ${POOL};
    const PARAMS = {
      ES256: [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
      RS256: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
      PS256: [{ name: 'RSA-PSS', hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
      EdDSA: [{ name: 'Ed25519' }, { name: 'Ed25519' }],
    };
    const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const options = { issuer: '${ISS}', audience: '${AUD}' };
    let fns;
    export default { async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === '/__ready') return new Response('ready');
      if (url.pathname === '/setup') {
        const { jwks, tokens } = await req.json();
        const ours = JwksVerifier.fromJwks(jwks, options);
        const before = ${BEFORE ? 'Before.fromJwks(jwks, options)' : 'undefined'};
        const set = createLocalJWKSet(jwks);
        const enc = new TextEncoder();
        const bare = {};
        for (const jwk of jwks.keys) {
          const [importParams, verifyParams] = PARAMS[jwk.alg];
          const key = await crypto.subtle.importKey('jwk', jwk, importParams, false, ['verify']);
          const decoded = tokens[jwk.alg].map((t) => { const dot = t.lastIndexOf('.'); return { input: enc.encode(t.slice(0, dot)), signature: b64(t.slice(dot + 1)) }; });
          bare[jwk.alg] = { key, verifyParams, decoded };
        }
        fns = (impl, alg, mode) => {
          const pick = (i) => tokens[alg][mode === 'same' ? 0 : i % POOL];
          if (impl === 'bare') {
            const { key, verifyParams, decoded } = bare[alg];
            return async (i) => {
              const d = decoded[mode === 'same' ? 0 : i % POOL];
              if (!(await crypto.subtle.verify(verifyParams, key, d.signature, d.input))) throw new Error('bare check failed');
            };
          }
          if (impl === 'jose') return (i) => jwtVerify(pick(i), set, options);
          const v = impl === 'ours' ? ours : before;
          return (i) => v.verify(pick(i));
        };
        // Every implementation must accept every token before anything is timed.
        for (const alg in tokens) for (const impl of ${JSON.stringify(impls)}) for (const mode of ['same', 'rotating']) {
          for (let i = 0; i < 3; i++) await fns(impl, alg, mode)(i);
        }
        return new Response('ok');
      }
      if (url.pathname === '/run') {
        const { impl, alg, mode, n } = await req.json();
        const fn = fns(impl, alg, mode);
        for (let i = 0; i < n; i++) await fn(i);
        return new Response('ok');
      }
      return new Response('', { status: 404 });
    } };`);
  try {
    const post = (path, body) => fetch(worker.url + path, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => {
      if (!r.ok) throw new Error(`worker answered ${r.status}: ${await r.text()}\n${worker.logs()}`);
      await r.text();
    });
    await post('/setup', { jwks, tokens });
    const elapsed = async (body) => { const t0 = performance.now(); await post('/run', body); return performance.now() - t0; };
    const emptyRun = async () => {
      const xs = [];
      for (let i = 0; i < 9; i++) xs.push(await elapsed({ impl: 'bare', alg: ALGS[0], mode: 'same', n: 0 }));
      return median(xs);
    };
    const res = {};
    for (const alg of ALGS) for (const mode of MODES) {
      const row = res[`${alg} ${mode}`] = Object.fromEntries(impls.map((i) => [i, []]));
      for (const impl of impls) await elapsed({ impl, alg, mode, n: 300 }); // warm-up
      const n = Math.max(200, Math.round(4000 * SECONDS));
      for (let r = 0; r < ROUNDS; r++) {
        const overhead = await emptyRun();
        for (const impl of impls) {
          const ms = (await elapsed({ impl, alg, mode, n })) - overhead;
          row[impl].push(n / (ms / 1000));
        }
      }
    }
    print('workerd (real runtime, HTTP round trip subtracted)', res, impls);
  } finally {
    await worker.stop();
    if (beforeDir) rmSync(beforeDir, { recursive: true, force: true });
  }
}

// --- cold start in workerd -------------------------------------------------------
// workerd compiles and instantiates a worker's modules when it loads the
// worker, before any request; the first request then imports the key and
// verifies. Measured: the first request's latency (first verification) and
// the time from spawning workerd to that answer, ours vs jose, median of 5.
if (!args.includes('--no-workerd') && !args.includes('--no-cold')) {
  const COLD_ALG = ALGS.includes('ES256') ? 'ES256' : ALGS[0];
  const firstVerify = (importLine, verifyLine) => `
    ${importLine}
    const jwks = ${JSON.stringify(jwks)};
    const token = ${JSON.stringify(tokens[COLD_ALG][0])};
    export default { async fetch(req) {
      if (new URL(req.url).pathname === '/__ready') return new Response('ready');
      ${verifyLine}
      return new Response('ok');
    } };`;
  const sources = {
    ours: firstVerify("import { JwksVerifier } from 'extension-sso/verifier';",
      `await JwksVerifier.fromJwks(jwks, { issuer: '${ISS}', audience: '${AUD}' }).verify(token);`),
    jose: firstVerify("import { jwtVerify, createLocalJWKSet } from 'jose';",
      `await jwtVerify(token, createLocalJWKSet(jwks), { issuer: '${ISS}', audience: '${AUD}' });`),
  };
  const samples = { ours: { start: [], first: [] }, jose: { start: [], first: [] } };
  for (let i = 0; i < 5; i++) {
    for (const [name, source] of Object.entries(sources)) {
      const t0 = performance.now();
      const worker = await startWorker(source);
      const started = performance.now();
      await fetch(worker.url + '/verify').then((r) => r.text());
      const done = performance.now();
      await worker.stop();
      samples[name].start.push(done - t0);
      samples[name].first.push(done - started);
    }
  }
  console.log(`\nCold start in workerd (${COLD_ALG}, ms, median of 5): the first request (key import + first verification,`);
  console.log('one HTTP round trip included), and spawn -> first answer (bundling, workerd start, compile, instantiate)');
  for (const name of Object.keys(samples)) {
    console.log(`${name.padEnd(5)} first request ${median(samples[name].first).toFixed(1).padStart(6)} ms   spawn -> first answer ${median(samples[name].start).toFixed(0).padStart(5)} ms`);
  }
}

// Benchmark: JwksVerifier.verify vs jose (jwtVerify + createLocalJWKSet),
// same tokens, same run, rounds interleaved; in Node and inside workerd.
//
//   node benches/verify.mjs [--seconds 1] [--rounds 5] [--no-workerd] [--no-node] [--no-cold] [--no-remembered]
//
// Prints tokens/s for both and the ratio ours/jose per algorithm. No
// threshold is enforced anywhere: this only measures. The main tables verify
// in full every time (verifiedTokenCacheSize off, the default); the extra
// Node table shows the same token verified again with the verified-token
// cache on (a hit is a Map lookup, time re-checks and JSON.parse).
import { generateKeyPair, exportJWK, SignJWT, jwtVerify, createLocalJWKSet } from 'jose';
import { JwksVerifier } from 'extension-sso/verifier';
import { startWorker } from '../tests/support/workerd.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const SECONDS = opt('seconds', 1);
const ROUNDS = opt('rounds', 5);
const ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const ISS = 'https://console.example';
const AUD = 'ext-123';

async function fixtures() {
  const keys = [];
  const tokens = {};
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' };
    keys.push(jwk);
    tokens[alg] = await new SignJWT({ sub: 'user-1', name: 'Ada', email: 'ada@example.com', scope: 'read write' })
      .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('2h')
      .sign(privateKey);
  }
  return { jwks: { keys }, tokens };
}

// The measuring loop runs in Node and, as text, inside workerd.
const MEASURE = `
async function measure(fn, token, seconds) {
  for (let i = 0; i < 200; i++) await fn(token); // warm-up
  let n = 0; const end = Date.now() + seconds * 1000;
  while (Date.now() < end) { for (let i = 0; i < 50; i++) await fn(token); n += 50; }
  return n / seconds;
}
async function compare(ours, jose, tokens, algs, seconds, rounds) {
  const out = {};
  for (const alg of algs) out[alg] = { ours: [], jose: [] };
  for (let r = 0; r < rounds; r++) {
    for (const alg of algs) {
      out[alg].ours.push(await measure(ours, tokens[alg], seconds));
      out[alg].jose.push(await measure(jose, tokens[alg], seconds));
    }
  }
  return out;
}`;
const { compare } = await import(`data:text/javascript,${encodeURIComponent(MEASURE + '\nexport { compare };')}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function print(title, res) {
  console.log(`\n${title}  (median of ${ROUNDS} interleaved rounds of ${SECONDS}s)`);
  console.log('alg     extension-sso/s     jose/s    ratio');
  for (const [alg, { ours, jose }] of Object.entries(res)) {
    const a = median(ours); const b = median(jose);
    console.log(`${alg.padEnd(6)} ${a.toFixed(0).padStart(15)} ${b.toFixed(0).padStart(10)} ${(a / b).toFixed(2).padStart(7)}x`);
  }
}

const { jwks, tokens } = await fixtures();

// Cold start in Node: a fresh process, from `import` to the first verified
// token (ES256), ours vs jose, alternating, median of 7.
if (!args.includes('--no-cold')) {
  const { execFileSync } = await import('node:child_process');
  const run = (code) => Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }));
  const setup = `const jwks = ${JSON.stringify(jwks)}; const token = ${JSON.stringify(tokens.ES256)};`;
  const ours = `${setup} const t0 = performance.now();
    const { JwksVerifier } = await import('extension-sso/verifier');
    await JwksVerifier.fromJwks(jwks, { issuer: '${ISS}', audience: '${AUD}' }).verify(token);
    console.log(performance.now() - t0);`;
  const theirs = `${setup} const t0 = performance.now();
    const { jwtVerify, createLocalJWKSet } = await import('jose');
    await jwtVerify(token, createLocalJWKSet(jwks), { issuer: '${ISS}', audience: '${AUD}' });
    console.log(performance.now() - t0);`;
  const a = []; const b = [];
  for (let i = 0; i < 7; i++) { a.push(run(ours)); b.push(run(theirs)); }
  const m = (xs) => [...xs].sort((x, y) => x - y)[3];
  console.log(`\nCold start in Node (import -> first verified ES256 token, median of 7 fresh processes)`);
  console.log(`extension-sso ${m(a).toFixed(1)} ms, jose ${m(b).toFixed(1)} ms, ratio ${(m(b) / m(a)).toFixed(2)}x faster`);
}
const ours = JwksVerifier.fromJwks(jwks, { issuer: ISS, audience: AUD });
const joseSet = createLocalJWKSet(jwks);
const joseVerify = (t) => jwtVerify(t, joseSet, { issuer: ISS, audience: AUD });
// Both must accept every token before anything is timed.
for (const alg of ALGS) { await ours.verify(tokens[alg]); await joseVerify(tokens[alg]); }
if (!args.includes('--no-node')) print('Node ' + process.version, await compare((t) => ours.verify(t), joseVerify, tokens, ALGS, SECONDS, ROUNDS));
if (!args.includes('--no-node') && !args.includes('--no-remembered')) {
  const remembering = JwksVerifier.fromJwks(jwks, { issuer: ISS, audience: AUD, verifiedTokenCacheSize: 1000 });
  print(`Node ${process.version}, repeat tokens, verifiedTokenCacheSize: 1000`,
    await compare((t) => remembering.verify(t), joseVerify, tokens, ALGS, SECONDS, ROUNDS));
}

// Inside workerd the clock only moves on I/O, so the worker runs a fixed
// number of verifications per request and Node times each request.
if (!args.includes('--no-workerd')) {
  const worker = await startWorker(`
    import { JwksVerifier } from 'extension-sso/verifier';
    import { jwtVerify, createLocalJWKSet } from 'jose';
    let ours, set;
    export default { async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === '/setup') {
        const { jwks } = await req.json();
        ours = JwksVerifier.fromJwks(jwks, { issuer: '${ISS}', audience: '${AUD}' });
        set = createLocalJWKSet(jwks);
        return new Response('ok');
      }
      if (url.pathname !== '/run') return new Response('', { status: 404 });
      const { impl, token, n } = await req.json();
      const fn = impl === 'ours' ? (t) => ours.verify(t) : (t) => jwtVerify(t, set, { issuer: '${ISS}', audience: '${AUD}' });
      for (let i = 0; i < n; i++) await fn(token);
      return new Response('ok');
    } };`);
  try {
    const post = (path, body) => fetch(worker.url + path, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => {
      if (!r.ok) throw new Error(`worker answered ${r.status}: ${await r.text()}\n${worker.logs()}`);
    });
    await post('/setup', { jwks });
    const timed = async (impl, token, n) => { const t0 = performance.now(); await post('/run', { impl, token, n }); return n / ((performance.now() - t0) / 1000); };
    const res = {};
    for (const alg of ALGS) {
      res[alg] = { ours: [], jose: [] };
      await timed('ours', tokens[alg], 300); await timed('jose', tokens[alg], 300); // warm-up
      const n = Math.max(200, Math.round(2000 * SECONDS));
      for (let r = 0; r < ROUNDS; r++) {
        res[alg].ours.push(await timed('ours', tokens[alg], n));
        res[alg].jose.push(await timed('jose', tokens[alg], n));
      }
    }
    print('workerd (real runtime)', res);
  } finally {
    await worker.stop();
  }
}

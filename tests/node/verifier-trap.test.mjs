// A trap inside the verifier's wasm (a bug: the core never panics on input)
// on any path, the hot one (check, finish: direct export calls) included:
// that call and every later call of every verifier on the instance reject
// with `unsupported` (the trap as `cause`), and a trap while a finalizer
// frees a core is no uncaught exception. The module is the real one with one
// export replaced (binaryen) by a function of the same signature that traps.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { JwksVerifier, ExtensionSsoError } from 'extension-sso/verifier';
import { runtimeSlot, wasmSync } from '../../pkg/lib/common.js';

const ISS = 'https://console.example';
const AUD = 'ext-123';
const WASM = readFileSync(new URL('../../pkg/wasm/verifier/extension_sso_verifier_bg.wasm', import.meta.url));

const slot = runtimeSlot('verifier/wasm');
const original = slot.get();
after(() => slot.install(original));

/** The verifier's module with export `name` trapping (`unreachable`) whenever it is called. */
async function trapping(name) {
  const binaryen = (await import('binaryen')).default;
  const module = binaryen.readBinary(WASM);
  try {
    module.setFeatures(binaryen.Features.All);
    const { params, results } = binaryen.getFunctionInfo(module.getFunction(binaryen.getExportInfo(module.getExport(name)).value));
    module.removeExport(name);
    module.addFunction('trap_instead', params, results, [], module.unreachable());
    module.addFunctionExport('trap_instead', name);
    assert.ok(module.validate(), 'the modified module validates');
    return wasmSync('verifier', new WebAssembly.Module(module.emitBinary()));
  } finally {
    module.dispose();
  }
}

const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
const token = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
  .setIssuer(ISS).setAudience(AUD).setExpirationTime('10m').sign(privateKey);
const verifier = () => JwksVerifier.fromJwks(jwks, { issuer: ISS, audience: AUD });

/** An `unsupported` error whose cause is `trap` (a RuntimeError); the first one seen becomes `trap.first`. */
function ended(trap) {
  return (e) => {
    assert.ok(e instanceof ExtensionSsoError, String(e));
    assert.equal(e.name, 'ExtensionSsoError');
    assert.equal(e.code, 'unsupported');
    assert.equal(e.retryable, false);
    assert.match(e.message, /extension-sso\/verifier WebAssembly module failed .* cannot be used again/);
    assert.ok(e.cause instanceof WebAssembly.RuntimeError, String(e.cause));
    trap.first ??= e.cause;
    assert.equal(e.cause, trap.first, 'every refusal names the first trap');
    return true;
  };
}

test('the real module, unmodified but for the trap, verifies (the fixture works)', async () => {
  assert.equal((await verifier().verify(token)).sub, 'user-1');
});

for (const name of ['verifier_check', 'verifier_finish']) {
  test(`a trap in ${name} (a direct call on the hot path) ends the instance: unsupported for every later call`, async () => {
    slot.install(await trapping(name));
    try {
      const trap = {};
      const a = verifier();
      const b = verifier();
      await assert.rejects(a.verify(token), ended(trap));
      // Every later call of any verifier on the instance, direct or not.
      await assert.rejects(a.verify(token), ended(trap));
      await assert.rejects(b.verify(token), ended(trap));
      await assert.rejects(b.verify(42), ended(trap));
      assert.throws(() => b.exportCache(), ended(trap));
      assert.throws(() => verifier(), ended(trap));
    } finally {
      slot.install(original);
    }
    assert.equal((await verifier().verify(token)).sub, 'user-1', 'a fresh instance works');
  });
}

test('a trap while a finalizer frees a core is no uncaught exception, and ends the instance', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const uncaught = [];
  const onUncaught = (error) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  slot.install(await trapping('verifier_free'));
  try {
    const kept = verifier();
    await kept.verify(token);
    let freed = false;
    const watch = new FinalizationRegistry(() => { freed = true; });
    (() => {
      for (let i = 0; i < 8; i++) watch.register(verifier(), i);
    })();
    for (let round = 0; round < 50 && !freed; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(freed, 'the dropped verifiers were collected');
    // The verifier's own finalizers ran in the same rounds; give them one more.
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(uncaught, []);
    await assert.rejects(kept.verify(token), ended({}));
  } finally {
    process.off('uncaughtException', onUncaught);
    slot.install(original);
  }
});

// Runs a worker module inside the real workerd runtime on 127.0.0.1.
//
// The worker source is bundled with esbuild the way wrangler does it: the
// `workerd` export condition is used, and every imported `.wasm` file becomes
// a separate wasm module of the worker (imported as a WebAssembly.Module).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(ROOT, 'package.json'));
export const WORKERD = join(dirname(require.resolve('@cloudflare/workerd-linux-64/package.json')), 'bin', 'workerd');

/** Bundles `source` (ES module text, resolved from `resolveDir`) for workerd. */
export async function bundleWorker(source, resolveDir = ROOT) {
  const wasm = new Map();
  const result = await esbuild.build({
    stdin: { contents: source, resolveDir, sourcefile: 'worker.js', loader: 'js' },
    bundle: true, write: false, format: 'esm', platform: 'neutral', target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: [{
      name: 'wasm-modules',
      setup(build) {
        build.onResolve({ filter: /\.wasm$/ }, (args) => {
          const path = resolve(args.resolveDir, args.path);
          wasm.set(basename(path), path);
          return { path: basename(path), external: true };
        });
      },
    }],
  });
  return { code: result.outputFiles[0].text, wasm };
}

/**
 * Starts workerd with `source` as the worker on 127.0.0.1:<free port>.
 * Returns { url, stop, logs() }. Outbound fetch is allowed to loopback only.
 */
export async function startWorker(source, { resolveDir, bindings = '' } = {}) {
  const { code, wasm } = await bundleWorker(source, resolveDir);
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-workerd-'));
  writeFileSync(join(dir, 'worker.js'), code);
  const modules = [`(name = "worker.js", esModule = embed "worker.js")`];
  for (const [name, path] of wasm) {
    copyFileSync(path, join(dir, name));
    modules.push(`(name = "${name}", wasm = embed "${name}")`);
  }
  const port = await freePort();
  writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const mainWorker :Workerd.Worker = (
  modules = [ ${modules.join(', ')} ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
  ${bindings}
);
`);
  let output = '';
  const child = spawn(WORKERD, ['serve', join(dir, 'config.capnp'), '--verbose'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
    try { await fetch(url + '/__ready'); break; } catch { /* not yet listening */ }
    if (Date.now() > deadline) { child.kill(); throw new Error(`workerd did not start:\n${output}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    logs: () => output,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

// The samples run as users get the package: `npm pack` of pkg/, installed into an empty project
// in a temporary directory, with a copy of examples/ beside it.
//
//   const project = await samplesProject();
//   project.dir                     // the project root (node_modules/extension-sso is the tarball)
//   project.path('examples/…')      // a copied sample
//   await project.close();
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Development packages a sample's tooling needs (types, wrangler), linked from the repository's node_modules. */
const TOOLING = ['@types', '@cloudflare', 'wrangler', 'typescript', 'esbuild'];

export async function samplesProject({ tooling = TOOLING } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-samples-'));
  const out = execFileSync('npm', ['pack', join(ROOT, 'pkg'), '--json', '--pack-destination', dir], { encoding: 'utf8' });
  const tarball = JSON.parse(out)[0].filename;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-extension', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, tarball)], { cwd: dir, stdio: 'pipe' });
  for (const name of tooling) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  return {
    dir,
    tarball,
    path: (...parts) => join(dir, ...parts),
    mkdir: (...parts) => mkdirSync(join(dir, ...parts), { recursive: true }),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A free TCP port on 127.0.0.1 (for programs that take their port from the environment). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

/**
 * Starts a long-running sample program and resolves once it is ready: its output matches `ready`
 * (a RegExp), or `readyUrl` answers an HTTP request. Returns { child, output(), stop() }; stop()
 * sends SIGTERM.
 */
export async function startProgram(command, args, { cwd, env = {}, ready, readyUrl, timeoutMs = 60_000 }) {
  const { spawn } = await import('node:child_process');
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const stopped = new Promise((r) => child.once('exit', r));
  const program = {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await stopped;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    if (ready?.test(output)) return program;
    if (readyUrl && await fetch(readyUrl).then(() => true, () => false)) return program;
    if (Date.now() > deadline) {
      await program.stop();
      throw new Error(`${command} did not get ready in ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A TypeScript sample of the project as JavaScript (types stripped by esbuild, nothing else
 * changed), written beside it as `<name>.mjs`; returns its file URL for `import()`.
 */
export async function transpiled(project, ...parts) {
  const { readFileSync, writeFileSync: write } = await import('node:fs');
  const { pathToFileURL } = await import('node:url');
  const esbuild = await import('esbuild');
  const source = project.path(...parts);
  const { code } = await esbuild.transform(readFileSync(source, 'utf8'), { loader: 'ts', format: 'esm' });
  const out = source.replace(/\.ts$/, '.mjs');
  write(out, code);
  return pathToFileURL(out).href;
}

/**
 * Replaces globalThis.fetch in this process: requests to a key of `routes` (an origin such as
 * 'https://login.example') go to its value (a local origin) instead; loopback requests pass; any
 * other request throws. Returns a function that puts the real fetch back.
 */
export function interceptFetch(routes) {
  const real = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = routes[url.origin];
    if (target) return real(`${target}${url.pathname}${url.search}`, init);
    if (['127.0.0.1', 'localhost'].includes(url.hostname)) return real(input, init);
    throw new Error(`unexpected fetch of ${url}`);
  };
  return () => { globalThis.fetch = real; };
}

/** Resolves once `predicate()` is true (checked every 20 ms); rejects with `what` after `timeoutMs`. */
export async function eventually(predicate, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not seen in ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

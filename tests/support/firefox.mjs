// Headless Firefox (Debian's firefox-esr) driven through geckodriver's W3C
// WebDriver HTTP API, straight from Node's fetch: no client library.
//
//   const ff = await launchFirefox();
//   await ff.navigate('http://127.0.0.1:1234/page.html');
//   const value = await ff.executeAsync('const [x, done] = arguments; done(x + 1);', [41]);
//   await ff.close();
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GECKODRIVER = process.env.GECKODRIVER || 'geckodriver';
const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

export async function launchFirefox({ scriptTimeoutMs = 120000 } = {}) {
  const port = await freePort();
  const profileRoot = mkdtempSync(join(tmpdir(), 'ext-sso-firefox-'));
  let output = '';
  const child = spawn(GECKODRIVER, ['--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: profileRoot },
  });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
    rmSync(profileRoot, { recursive: true, force: true });
  };
  const call = async (method, path, body) => {
    const res = await fetch(base + path, {
      method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${res.status} ${JSON.stringify(json.value)}`);
    return json.value;
  };
  try {
    const deadline = Date.now() + 20000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`geckodriver exited (${child.exitCode}):\n${output}`);
      try { if ((await call('GET', '/status')).ready !== undefined) break; } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`geckodriver did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const session = await call('POST', '/session', {
      capabilities: { alwaysMatch: { browserName: 'firefox', 'moz:firefoxOptions': { binary: FIREFOX, args: ['-headless'] } } },
    });
    const id = session.sessionId;
    await call('POST', `/session/${id}/timeouts`, { script: scriptTimeoutMs, pageLoad: 30000 });
    return {
      capabilities: session.capabilities,
      navigate: (url) => call('POST', `/session/${id}/url`, { url }),
      execute: (script, args = []) => call('POST', `/session/${id}/execute/sync`, { script, args }),
      executeAsync: (script, args = []) => call('POST', `/session/${id}/execute/async`, { script, args }),
      async close() {
        try { await call('DELETE', `/session/${id}`); } finally { await stop(); }
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

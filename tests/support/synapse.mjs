// A real Synapse homeserver (PyPI matrix-synapse, installed into .venv-synapse/ by
// scripts/setup-synapse) on 127.0.0.1 with SQLite, whose only SSO is an OpenID Connect provider
// (tests/support/oidc.mjs), for the Matrix SSO login flow of seed 003.
//
//   const port = await freePort();
//   const op = await startOidcProvider({ clients: [{ client_id, client_secret,
//     redirect_uris: [synapseOidcCallbackUrl(port)] }] });
//   const hs = await startSynapse({ port, oidcIssuer: op.issuer, clientId, clientSecret,
//     pageOrigin: 'http://127.0.0.1:4000' });
//   hs.url            // http://127.0.0.1:<port>  (public_baseurl without the trailing slash)
//   hs.serverName     // 'localhost' → users are @<sub>:localhost
//   hs.idpId          // 'oidc-test' (Synapse prefixes provider ids with 'oidc-')
//   hs.log()          // the homeserver log so far (for failure messages)
//   await hs.close();
//
// Configuration (keys of Synapse's homeserver.yaml, checked against matrix-synapse 1.163):
// - one `http` listener on 127.0.0.1 with the `client` resource; no federation listener,
//   `trusted_key_servers: []`, no stats, presence or URL previews: no traffic leaves loopback;
// - `enable_registration: false`: accounts are made by the SSO provider only;
// - `oidc_providers`: discovery on, `skip_verification: true` (the issuer is http://),
//   client_secret_basic, scopes openid + profile, the localpart is the OIDC `sub`
//   (`localpart_template: "{{ user.sub }}"`), so the provider's login `alice` is @alice:localhost;
// - `sso.client_whitelist: [<pageOrigin>/]`: a redirectUrl under the test page goes straight back
//   with the loginToken, without Synapse's "Continue to your account" confirmation page;
// - `rc_login` limits raised: the tests log in many times from 127.0.0.1.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SYNAPSE_PYTHON = process.env.SYNAPSE_PYTHON || join(ROOT, '.venv-synapse', 'bin', 'python');

/** True when scripts/setup-synapse has installed Synapse. */
export function synapseInstalled() {
  return existsSync(SYNAPSE_PYTHON);
}

/** A free TCP port on 127.0.0.1 (Synapse's port must be known before the provider's client is). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Synapse's OIDC callback for a homeserver on `port`: register it at the provider. */
export function synapseOidcCallbackUrl(port, host = '127.0.0.1') {
  return `http://${host}:${port}/_synapse/client/oidc/callback`;
}

// YAML is a superset of JSON: write the config as JSON, no YAML library needed.
function homeserverConfig({ dir, port, host, serverName, oidcIssuer, clientId, clientSecret, pageOrigin, idp }) {
  const unlimited = { per_second: 1000, burst_count: 1000 };
  return {
    server_name: serverName,
    public_baseurl: `http://${host}:${port}/`,
    pid_file: join(dir, 'homeserver.pid'),
    listeners: [{
      port,
      bind_addresses: [host],
      type: 'http',
      tls: false,
      x_forwarded: false,
      resources: [{ names: ['client'], compress: false }],
    }],
    database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
    log_config: join(dir, 'log.config'),
    media_store_path: join(dir, 'media_store'),
    signing_key_path: join(dir, 'signing.key'),
    macaroon_secret_key: randomBytes(32).toString('hex'),
    form_secret: randomBytes(32).toString('hex'),
    report_stats: false,
    enable_metrics: false,
    url_preview_enabled: false,
    use_presence: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    enable_registration: false,
    password_config: { enabled: true },
    rc_login: { address: unlimited, account: unlimited, failed_attempts: unlimited },
    oidc_providers: [{
      idp_id: idp,
      idp_name: 'Test OpenID Provider',
      discover: true,
      issuer: oidcIssuer,
      client_id: clientId,
      client_secret: clientSecret,
      client_auth_method: 'client_secret_basic',
      scopes: ['openid', 'profile'],
      skip_verification: true,
      user_mapping_provider: { config: { localpart_template: '{{ user.sub }}' } },
    }],
    sso: { client_whitelist: [`${pageOrigin.replace(/\/$/, '')}/`] },
  };
}

function logConfig(file) {
  return {
    version: 1,
    formatters: { precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s' } },
    filters: { context: { '()': 'synapse.logging.context.LoggingContextFilter', request: '' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'precise', filename: file, filters: ['context'] } },
    loggers: { synapse: { level: 'INFO' }, 'synapse.storage.SQL': { level: 'WARNING' }, twisted: { level: 'WARNING' } },
    root: { level: 'INFO', handlers: ['file'] },
    disable_existing_loggers: false,
  };
}

/**
 * Starts Synapse and resolves once `GET /_matrix/client/versions` answers.
 * @param {object} o
 * @param {string} o.oidcIssuer       the provider's issuer (http://127.0.0.1:<port>)
 * @param {string} o.clientId         its client for Synapse (redirect URI: synapseOidcCallbackUrl(port))
 * @param {string} o.clientSecret
 * @param {string} o.pageOrigin       the test page origin, whitelisted for SSO redirects
 * @param {number} [o.port]           default: a free port
 * @param {string} [o.host='127.0.0.1']
 * @param {string} [o.serverName='localhost']
 * @param {string} [o.idp='test']     Synapse exposes it as `oidc-<idp>`
 * @param {number} [o.startTimeoutMs=90000]
 */
export async function startSynapse({
  oidcIssuer, clientId, clientSecret, pageOrigin,
  port, host = '127.0.0.1', serverName = 'localhost', idp = 'test', startTimeoutMs = 90_000,
}) {
  if (!synapseInstalled()) throw new Error(`Synapse is not installed (${SYNAPSE_PYTHON}): run scripts/setup-synapse`);
  port ??= await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'ext-sso-synapse-'));
  const logFile = join(dir, 'homeserver.log');
  writeFileSync(join(dir, 'homeserver.yaml'), JSON.stringify(homeserverConfig({
    dir, port, host, serverName, oidcIssuer, clientId, clientSecret, pageOrigin, idp,
  }), null, 2));
  writeFileSync(join(dir, 'log.config'), JSON.stringify(logConfig(logFile), null, 2));
  // signedjson's format: "<alg> <version> <unpadded base64 seed>".
  writeFileSync(join(dir, 'signing.key'), `ed25519 a_test ${randomBytes(32).toString('base64').replace(/=+$/, '')}\n`);

  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  for (const k of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(k)) delete env[k];
  const child = spawn(SYNAPSE_PYTHON, ['-m', 'synapse.app.homeserver', '-c', join(dir, 'homeserver.yaml')], {
    cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));

  const url = `http://${host}:${port}`;
  const log = () => {
    let file = '';
    try { file = readFileSync(logFile, 'utf8'); } catch { /* not yet */ }
    return `${output}\n${file}`;
  };
  const close = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
      await exit;
      clearTimeout(timer);
    }
    if (!process.env.KEEP_SYNAPSE_DIR) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) {
      const text = log();
      await close();
      throw new Error(`Synapse exited (${JSON.stringify(exited)}) before it answered:\n${text.slice(-4000)}`);
    }
    try {
      const r = await fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      const text = log();
      await close();
      throw new Error(`Synapse did not answer /_matrix/client/versions within ${startTimeoutMs} ms:\n${text.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, serverName, idpId: `oidc-${idp}`, dir, log, close };
}

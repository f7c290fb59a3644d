// extension-sso/client: the browser ExtensionClient (wasm) plus a tiny,
// wasm-free helper for the host page that embeds extensions.
import { runtimeSlot, ssoError } from './common.js';
export { ExtensionSsoError } from './common.js';
import { ExtensionClient, crateVersion, errorCodeList } from '../wasm/client/extension_sso_client.js';

const runtime = runtimeSlot('client');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { ExtensionClient, crateVersion };
/** Every error code (`ErrorCode`). */
export const errorCodes = () => errorCodeList().split(' ');

const NAVIGATE = 'extension-sso:navigate';
const NAVIGATE_RESULT = 'extension-sso:navigate-result';

function loginUrlAllowed(url, prefixes) {
  let parsed;
  try { parsed = new URL(url); } catch { return false; }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) return false;
  return !prefixes || prefixes.some((p) => url.startsWith(p));
}

function isExactOrigin(value) {
  try { return typeof value === 'string' && new URL(value).origin === value; } catch { return false; }
}

/**
 * For the HOST page (the console that frames extensions): answers an
 * extension's `navigation: 'top'` request `{type:'extension-sso:navigate', url}`
 * by navigating the top-level page to `url`. Messages are accepted only from
 * `extensionOrigin` (and from `frame`'s window when given); the answer
 * `{type:'extension-sso:navigate-result', ok}` goes to `extensionOrigin` only.
 * Needs no wasm and no init(). Returns a function that uninstalls the bridge.
 */
export function installHostBridge({ extensionOrigin, frame, allowedUrlPrefixes, navigate } = {}) {
  if (!isExactOrigin(extensionOrigin)) {
    throw ssoError('invalid_options',
      'installHostBridge needs extensionOrigin, an exact origin such as https://ext.example.com (never "*")');
  }
  const go = navigate ?? ((url) => globalThis.location.assign(url));
  const onMessage = (event) => {
    if (event.origin !== extensionOrigin) return;
    if (frame && event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || data.type !== NAVIGATE) return;
    const ok = typeof data.url === 'string' && Object.keys(data).length === 2 && loginUrlAllowed(data.url, allowedUrlPrefixes);
    event.source?.postMessage({ type: NAVIGATE_RESULT, ok }, extensionOrigin);
    if (ok) go(data.url);
  };
  globalThis.addEventListener('message', onMessage);
  return () => globalThis.removeEventListener('message', onMessage);
}

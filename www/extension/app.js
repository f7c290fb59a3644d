// The demo extension's frontend: ExtensionClient (extension-sso/client, browser entry) for the
// console scenario (profile 'mia-console') and the OpenID Provider scenario ('oauth2').
// This page is its own callback page (phase 2 of the login runs here), and the popup's too.
import init, { ExtensionClient } from '/pkg/client.browser.js';

const $ = (id) => document.getElementById(id);
const scenario = document.body.dataset.scenario; // 'console' | 'oidc'
const MODE_KEY = `extension-sso-demo:navigation:${scenario}`;

// What to tell the user, per error code.
const HINTS = {
  authorization_denied: 'You chose Deny (or the server refused the request). Click the login button again and choose Allow.',
  state_unknown: 'This callback does not belong to a login started in this tab (forged, tampered with, or from another tab or browser). Nothing was sent to the backend. Start the login again from this page.',
  state_expired: 'The login took too long (the pending login expired). Start it again.',
  state_reused: 'This callback was already used (a reload or the back button replayed it). Start a new login.',
  state_storage_unavailable: 'This frame cannot use sessionStorage (a private window, or third-party storage blocked). Choose Popup, which keeps the login in this page\'s memory.',
  iss_mismatch: 'The callback came from another authorization server than the one configured (mix-up attack?). Start again; if it persists, check the issuer setting.',
  iss_missing: 'The server did not say who it is (RFC 9207 iss) although the extension requires it. Check the server configuration.',
  invalid_callback: 'The callback URL is incomplete or malformed. Start the login again.',
  handoff_failed: 'The extension backend could not turn the code into a token. Codes are single-use and short-lived: start the login again.',
  popup_blocked: 'The browser blocked the popup. Allow popups for this site, or choose Self or Top.',
  popup_closed: 'The popup was closed before the login finished. Click the login button to try again.',
  origin_not_allowed: 'A message came from an unexpected origin and was ignored. Reload the page and start again.',
  navigation_unavailable: 'The host page did not take over the navigation. Open the extension inside the console, or choose Self or Popup.',
  not_logged_in: 'There is no session. Log in first.',
  network_error: 'The backend could not be reached. Check that the demo is running, then retry.',
  invalid_options: 'The extension is misconfigured (a developer error): see the message.',
};

const state = { cfg: null, client: null, mode: null, framed: false, storage: true, busy: false };

// ---------------------------------------------------------------------------------------------
// Rendering

function setStatus(text, kind = 'idle') {
  const el = $('status');
  el.textContent = text;
  el.dataset.state = kind;
}

const STEP_ORDER = ['start', 'consent', 'callback', 'handoff', 'identity'];

/** Marks every step before `step` done, `step` as `how` ('active' | 'error' | 'done'), the rest pending. */
function setStep(step, how = 'active') {
  const at = step ? STEP_ORDER.indexOf(step) : -1;
  for (const li of $('steps').children) {
    const i = STEP_ORDER.indexOf(li.dataset.step);
    li.className = at < 0 ? '' : i < at ? 'done' : i === at ? how : '';
  }
}

function showError(error, step) {
  const code = typeof error?.code === 'string' ? error.code : 'unexpected';
  setStep(step, 'error');
  $('identity').hidden = true;
  $('error').hidden = false;
  $('error-code').textContent = code;
  $('error-message').textContent = error?.message || String(error);
  $('error-hint').textContent = HINTS[code] ?? 'Start the login again; if it keeps failing, see the browser console.';
  const detail = [];
  if (error?.status) detail.push(`HTTP ${error.status}`);
  if (error?.error) detail.push(`server error: ${error.error}`);
  if (error?.error_description) detail.push(error.error_description);
  $('error-detail').textContent = detail.join(' · ');
  setStatus(`Error: ${code}`, 'error');
}

function clearPanels() {
  $('error').hidden = true;
  $('identity').hidden = true;
}

function hostOf(origin) {
  try { return origin ? new URL(origin).host : null; } catch { return null; }
}

/** True when the embedding page is on another site (scheme + host; ports do not count). */
function crossSite() {
  const top = location.ancestorOrigins?.[location.ancestorOrigins.length - 1];
  if (!top) return true;
  try { return new URL(top).hostname !== location.hostname || new URL(top).protocol !== location.protocol; } catch { return true; }
}

function initials(name) {
  return String(name || '?').split(/\s+/).map((w) => w[0] || '').join('').slice(0, 2).toUpperCase();
}

function fmtExp(exp) {
  if (typeof exp !== 'number') return '—';
  const mins = Math.round((exp * 1000 - Date.now()) / 60000);
  const when = new Date(exp * 1000).toLocaleString();
  return `${when} (${mins >= 0 ? `in ${mins} min` : `${-mins} min ago`})`;
}

function showIdentity(claims) {
  const set = (name, value) => {
    for (const el of document.querySelectorAll(`[data-claim="${name}"]`)) el.textContent = value;
  };
  const name = claims.name || [claims.given_name, claims.family_name].filter(Boolean).join(' ') || claims.sub;
  set('name', name);
  set('email', claims.email || '(no email claim)');
  set('sub', claims.sub ?? '—');
  set('iss', claims.iss ?? '—');
  set('aud', Array.isArray(claims.aud) ? claims.aud.join(', ') : (claims.aud ?? '—'));
  set('exp', fmtExp(claims.exp));
  $('avatar').textContent = initials(name);
  $('verified-by').textContent = `Claims answered by the extension backend (${state.cfg.userinfoUrl}) after JwksVerifier checked `
    + `the token's signature, iss, aud and exp against ${state.cfg.jwksUri}.`;
  $('claims-json').textContent = JSON.stringify(claims, null, 2);
  $('error').hidden = true;
  $('identity').hidden = false;
  $('login').hidden = true;
  $('logout').hidden = false;
  $('modes').disabled = true;
  setStep('identity', 'done');
  setStatus(`Logged in as ${name}`, 'logged-in');
}

// ---------------------------------------------------------------------------------------------
// Flow

function readMode() {
  try { return sessionStorage.getItem(MODE_KEY); } catch { return null; }
}

function saveMode(mode) {
  try { sessionStorage.setItem(MODE_KEY, mode); } catch { /* storage blocked: memory only */ }
}

function availableModes() {
  return [...document.querySelectorAll('input[name=navigation]')].filter((i) => !i.disabled).map((i) => i.value);
}

function makeClient(mode) {
  state.client?.free();
  const { cfg } = state;
  const options = scenario === 'console'
    ? { profile: 'mia-console', consoleUrl: cfg.consoleUrl, tenantId: cfg.tenantId, extensionId: cfg.extensionId }
    : { profile: 'oauth2', authorizationEndpoint: cfg.authorizationEndpoint, clientId: cfg.clientId, redirectUri: cfg.redirectUri, scope: cfg.scope, issuer: cfg.issuer, usePkce: true };
  options.tokenHandoffUrl = cfg.tokenHandoffUrl;
  options.navigation = mode;
  if (mode === 'top' && cfg.hostOrigin) options.hostOrigin = cfg.hostOrigin;
  state.client = new ExtensionClient(options);
  state.mode = mode;
  window.__client = state.client; // for the curious (and the tests)
}

function selectMode(mode) {
  const input = document.querySelector(`input[name=navigation][value="${mode}"]`);
  if (input) input.checked = true;
  makeClient(mode);
}

/** The backend's userinfo endpoint: the claims of the access token, verified there. */
async function fetchVerifiedClaims(session) {
  let res;
  try {
    res = await fetch(state.cfg.userinfoUrl, { headers: { authorization: `Bearer ${session.accessToken}` } });
  } catch (e) {
    throw Object.assign(new Error(`the backend could not be reached: ${e.message}`), { code: 'network_error' });
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(body.error_description || `userinfo answered HTTP ${res.status}`),
      { code: body.error || 'userinfo_failed', status: res.status });
  }
  return body;
}

async function finish(session) {
  setStep('identity', 'active');
  setStatus('Code exchanged; asking the backend for the verified claims…', 'working');
  try {
    showIdentity(await fetchVerifiedClaims(session));
  } catch (e) {
    showError(e, 'identity');
  }
}

function stepOfError(code) {
  if (code === 'authorization_denied') return 'consent';
  if (code === 'handoff_failed' || code === 'network_error') return 'handoff';
  if (['popup_blocked', 'popup_closed', 'navigation_unavailable', 'state_storage_unavailable', 'invalid_options'].includes(code)) return 'start';
  return 'callback';
}

function login() {
  if (state.busy) return;
  clearPanels();
  state.busy = true;
  $('login').disabled = true;
  $('modes').disabled = true; // the client of the chosen mode holds the pending flow
  setStep('consent', 'active');
  const where = { self: 'in this frame', top: 'in the console page', popup: 'in the popup' }[state.mode] ?? '';
  setStatus(`Waiting for you to sign in ${where}…`, 'working');
  // No await before login(): popup mode must open its window inside this click.
  state.client.login().then(
    (session) => {
      // Popup mode: the popup's callback came back to this page and the handoff is done.
      setStep('handoff', 'done');
      return finish(session);
    },
    (e) => showError(e, stepOfError(e?.code)),
  ).finally(() => {
    state.busy = false;
    $('login').disabled = false;
    if (!state.client.session) $('modes').disabled = false;
  });
}

function logout() {
  state.client?.logout();
  clearPanels();
  setStep(null);
  $('login').hidden = false;
  $('logout').hidden = true;
  $('modes').disabled = false;
  setStatus('Logged out. The session was forgotten (memory and pending flows).', 'idle');
}

async function main() {
  const url = new URL(location.href);
  const hasCallbackParams = ['code', 'state', 'error'].some((k) => url.searchParams.has(k));
  const framed = window.parent !== window;

  try {
    await init();
  } catch (e) {
    setStatus(`Could not load the WebAssembly module: ${e.message}`, 'error');
    return;
  }

  // The popup's callback page: hand the callback to the iframe that opened it, then close.
  if (!framed && window.opener && hasCallbackParams) {
    document.body.classList.add('popup-callback');
    setStatus('Login complete: returning to the extension…', 'working');
    if (ExtensionClient.completePopup()) return;
  }

  try {
    state.cfg = (await (await fetch('config.json', { cache: 'no-store' })).json())[scenario];
    if (!state.cfg) throw new Error(`the ${scenario} scenario is not running`);
  } catch (e) {
    setStatus(`The demo backend did not answer its configuration: ${e.message}`, 'error');
    return;
  }

  state.framed = ExtensionClient.isFramed();
  state.storage = ExtensionClient.sessionStorageAvailable();
  $('context').textContent = state.framed
    ? `framed by ${hostOf(location.ancestorOrigins?.[0] || document.referrer) ?? 'a host page'}${crossSite() ? ' · cross-site' : ''}`
    : 'top-level page';
  $('context').dataset.framed = String(state.framed);

  // Which modes make sense here.
  const topInput = document.querySelector('input[name=navigation][value=top]');
  const notes = [];
  if (topInput && !state.framed) {
    topInput.disabled = true;
    notes.push('Top needs the host page: open the extension inside the console.');
  }
  if (!state.storage) {
    for (const v of ['self', 'top']) {
      const i = document.querySelector(`input[name=navigation][value=${v}]`);
      if (i) i.disabled = true;
    }
    notes.push('sessionStorage is blocked in this frame (private window or third-party storage blocked): only Popup can work here.');
  }
  if (notes.length) { $('mode-note').textContent = notes.join(' '); $('mode-note').hidden = false; }

  const modes = availableModes();
  const saved = readMode();
  const fromQuery = url.searchParams.get('navigation');
  const initial = [fromQuery, saved].find((m) => m && modes.includes(m)) ?? modes[0];
  selectMode(initial);
  for (const input of document.querySelectorAll('input[name=navigation]')) {
    input.addEventListener('change', () => { if (input.checked) { saveMode(input.value); selectMode(input.value); } });
  }
  $('login').addEventListener('click', login);
  $('logout').addEventListener('click', logout);

  // Phase 2: this page is the callback (self, or top through the host page).
  if (state.client.isCallback(location.href)) {
    state.busy = true;
    setStep('callback', 'active');
    setStatus('Checking the callback and handing the code to the backend…', 'working');
    try {
      const session = await state.client.handleCallback(location.href);
      setStep('handoff', 'done');
      await finish(session);
    } catch (e) {
      showError(e, stepOfError(e?.code));
    } finally {
      state.busy = false;
    }
    $('login').disabled = false;
    return;
  }
  $('login').disabled = false;
  setStatus('Not logged in. Choose how to reach the login page, then log in.', 'idle');
}

main().finally(() => { window.__demoReady = true; });

// The extension's page: log in through your identity provider, then call your backend.
import init, { ExtensionClient } from 'extension-sso/client';

await init(); // loads the WebAssembly module, once, before the first ExtensionClient
const config = await (await fetch('/config.json')).json(); // public settings from the backend

// In a host console's cross-site iframe the browser may block sessionStorage: a popup still works.
const navigation = ExtensionClient.sessionStorageAvailable() ? 'self' : 'popup';
const client = new ExtensionClient({
  profile: 'oauth2',
  issuer: config.issuer, // its metadata gives the authorization endpoint
  clientId: config.clientId,
  scope: 'openid profile email',
  // Register both pages with your identity provider as redirect URIs.
  redirectUri: new URL(navigation === 'popup' ? '/popup-callback.html' : '/', location.href).href,
  tokenHandoffUrl: '/api/token', // the backend's createHandoffHandler serves this path
  navigation,
});

const button = document.getElementById('login');
const status = document.getElementById('status');

async function loggedIn(session) {
  const { claims } = await client.getUserIdentity(); // verified by the backend during the handoff
  const answer = await fetch('/api/hello', { headers: { authorization: `Bearer ${session.accessToken}` } });
  const { hello } = await answer.json();
  status.textContent = `Logged in as ${claims.email ?? claims.sub}; the backend says hello to ${hello}.`;
}

function failed(error) {
  // Every rejection has a stable .code (e.g. popup_blocked, state_expired, handoff_failed).
  status.textContent = `Login failed (${error.code}): ${error.message}`;
  button.disabled = false;
}

// No await between the click and login(): a popup must open inside the click.
button.addEventListener('click', () => {
  button.disabled = true;
  client.login().then(loggedIn, failed);
});

if (client.isCallback(location.href)) {
  // Back from the identity provider (navigation 'self'): finish the login on this page.
  status.textContent = 'Finishing the login…';
  client.handleCallback(location.href).then(loggedIn, failed);
} else {
  status.textContent = `Not logged in (the login opens ${navigation === 'popup' ? 'in a popup' : 'in this page'}).`;
  button.disabled = false;
}

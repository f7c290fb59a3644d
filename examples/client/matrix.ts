// A Matrix homeserver's single sign-on (Synapse and other homeservers with SSO).
import { ExtensionClient } from 'extension-sso/client';

export const client = new ExtensionClient({
  profile: 'matrix',
  homeserverUrl: 'https://matrix.example',
  idpId: 'oidc', // optional: go straight to one of the homeserver's identity providers
  redirectUri: 'https://my-extension.example/', // the page that receives `loginToken`
  // No tokenHandoffUrl: the browser logs in with the homeserver itself (m.login.token).
});

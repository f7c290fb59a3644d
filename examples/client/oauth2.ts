// Any OAuth 2.0 / OpenID Connect server: Authress, Keycloak, Auth0, Okta, Microsoft Entra ID, …
import { ExtensionClient } from 'extension-sso/client';

export const client = new ExtensionClient({
  profile: 'oauth2',
  authorizationEndpoint: 'https://login.example/authorize', // `authorization_endpoint` of its discovery document
  issuer: 'https://login.example', // checked against the callback's `iss` (RFC 9207)
  clientId: 'my-extension',
  redirectUri: 'https://my-extension.example/', // registered with the server
  scope: 'openid profile email',
  tokenHandoffUrl: '/api/token', // your backend exchanges the code (createHandoffHandler)
  // Servers that issue JWT access tokens only for a named API want it in the request:
  extraParams: { audience: 'https://api.my-extension.example' },
});

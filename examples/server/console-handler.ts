// The backend of an extension framed by a host console (the client's 'mia-console' profile),
// keeping the console's access token in an HttpOnly cookie instead of the browser's memory.
import { createHandoffHandler } from 'extension-sso/server';
import { JwksVerifier } from 'extension-sso/verifier';

export const handler = createHandoffHandler({
  profile: 'mia-console',
  consoleUrl: 'https://console.example', // the code goes to {consoleUrl}/api/oauth/token
  verifier: new JwksVerifier({ jwksUri: 'https://console.example/jwks', issuer: 'https://console.example', audience: 'my-extension' }),
  allowedOrigins: ['https://my-extension.example'], // the extension's pages
  tokenPath: '/api/token', // the client's tokenHandoffUrl
  userinfoPath: '/api/userinfo', // answers the verified claims to the cookie's owner
  session: { cookie: '__Host-session', sameSite: 'None', partitioned: true }, // cross-site iframe
});

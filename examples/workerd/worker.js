// An API in workerd that answers only requests with a valid access token.
import { ExtensionSsoError, JwksVerifier } from 'extension-sso/verifier';

let verifier; // one per isolate: it keeps the key set between requests

export default {
  async fetch(request, env) {
    verifier ??= new JwksVerifier({ jwksUri: env.JWKS_URI, issuer: env.ISSUER, audience: env.AUDIENCE });
    try {
      const claims = await verifier.verify(request.headers.get('authorization')?.replace(/^Bearer /i, '') ?? '');
      return Response.json({ hello: claims.sub });
    } catch (error) {
      if (error instanceof ExtensionSsoError && error.retryable) {
        return Response.json({ error: 'temporarily_unavailable' }, { status: 503 }); // the key endpoint is down
      }
      return Response.json({ error: 'invalid_token' }, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    }
  },
};

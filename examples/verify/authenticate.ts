import { ExtensionSsoError, JwksVerifier, type JwtClaims } from 'extension-sso/verifier';

const verifier = new JwksVerifier({
  jwksUri: 'https://console.example/jwks',
  issuer: 'https://console.example', // string | string[]; required
  audience: 'my-extension', // string | string[]; required (null = any, on purpose)
});

/** The verified claims of a request's access token, or the response to send instead. */
export async function authenticate(request: Request): Promise<JwtClaims | Response> {
  const token = request.headers.get('authorization')?.replace(/^Bearer /i, '') ?? '';
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (!(error instanceof ExtensionSsoError)) throw error;
    if (error.retryable || error.code.startsWith('jwks_') || error.code === 'discovery_failed') {
      // The key endpoint is down, slow or misconfigured: our failure, not the token's.
      return new Response(null, { status: 503, headers: { 'retry-after': '30' } });
    }
    // expired, bad_signature, audience_mismatch, … (error.code): the client must log in again.
    return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  }
}

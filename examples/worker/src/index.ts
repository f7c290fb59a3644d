// The extension's backend as a Cloudflare Worker: the same routes as the Node backend.
import { createHandoffHandler, type FetchHandler } from 'extension-sso/server';
import { ExtensionSsoError, JwksVerifier, type JwksCacheSnapshot } from 'extension-sso/verifier';

export interface Env {
  OIDC_ISSUER: string;
  OIDC_CLIENT_ID: string;
  OIDC_CLIENT_SECRET: string;
  API_AUDIENCE: string;
  ALLOWED_ORIGINS: string;
  JWKS_CACHE: KVNamespace;
}

interface Backend {
  verifier: JwksVerifier;
  handoff: FetchHandler;
  /** The key set as KV has it (to write it back only when it changed). */
  saved: JwksCacheSnapshot | null;
}

// Built by an isolate's first request and reused by the next ones.
let backend: Backend | undefined;

async function start(env: Env): Promise<Backend> {
  const issuer = env.OIDC_ISSUER;
  // The keys another isolate fetched (null when none did): this one verifies without fetching them again.
  const cache = await env.JWKS_CACHE.get<JwksCacheSnapshot>('jwks', 'json');
  // discovery: the keys' address comes from the issuer's metadata. Access tokens must be JWTs (RFC 9068).
  const verifier = new JwksVerifier({ issuer, discovery: true, audience: env.API_AUDIENCE, cache });
  const handoff = createHandoffHandler({
    profile: 'oauth2',
    issuer, // its metadata gives the token endpoint, and the keys of the ID Tokens it validates
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET,
    verifier,
    allowedOrigins: env.ALLOWED_ORIGINS.split(','),
    tokenPath: '/api/token', // the client's tokenHandoffUrl
    userinfoPath: '/api/userinfo',
  });
  return { verifier, handoff, saved: cache };
}

// Your own API: only for requests that carry a valid access token.
async function hello(request: Request, verifier: JwksVerifier): Promise<Response> {
  try {
    const claims = await verifier.verify(request.headers.get('authorization')?.replace(/^Bearer /i, '') ?? '');
    return Response.json({ hello: claims.sub });
  } catch (error) {
    if (error instanceof ExtensionSsoError && error.retryable) {
      return Response.json({ error: 'temporarily_unavailable' }, { status: 503 }); // the key endpoint is down
    }
    return Response.json({ error: 'invalid_token' }, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  }
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const app = (backend ??= await start(env));
    const { pathname } = new URL(request.url);
    const response = pathname === '/api/hello' ? await hello(request, app.verifier) : await app.handoff(request);

    // Share the keys with the other isolates: only when this isolate fetched since what KV has.
    const snapshot = app.verifier.exportCache(app.saved);
    if (snapshot) {
      app.saved = snapshot;
      ctx.waitUntil(env.JWKS_CACHE.put('jwks', JSON.stringify(snapshot), { expirationTtl: 3600 }));
    }
    return response;
  },
} satisfies ExportedHandler<Env>;

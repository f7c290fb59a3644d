// The route behind a Matrix client's tokenHandoffUrl: the browser posts { type: 'm.login.token', token }.
import { ExtensionSsoError, matrixTokenLogin } from 'extension-sso/server';

const ALLOWED_ORIGINS = ['https://my-extension.example']; // the extension's pages
const MAX_BODY_BYTES = 4096; // a handoff is a few hundred bytes
const NO_STORE = { 'cache-control': 'no-store' }; // an access token is never cached (RFC 6749 §5.1)
const answer = (status: number, body: object) => Response.json(body, { status, headers: NO_STORE });

export async function matrixHandoff(request: Request): Promise<Response> {
  if (request.method !== 'POST') return answer(405, { error: 'invalid_request' });
  if (!ALLOWED_ORIGINS.includes(request.headers.get('origin') ?? '')) return answer(403, { error: 'origin_not_allowed' });
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) return answer(415, { error: 'invalid_request' });
  // Refuse a larger body, or one of unknown length, before reading it.
  if (!(Number(request.headers.get('content-length') ?? NaN) <= MAX_BODY_BYTES)) return answer(413, { error: 'invalid_request' });
  const { token } = ((await request.json().catch(() => null)) ?? {}) as { token?: unknown };
  if (typeof token !== 'string' || !token) return answer(400, { error: 'invalid_request' });
  try {
    const session = await matrixTokenLogin({
      homeserverUrl: 'https://matrix.example',
      loginToken: token,
      initialDeviceDisplayName: 'My extension',
    });
    return answer(200, { access_token: session.accessToken, user_id: session.userId, device_id: session.deviceId });
  } catch (error) {
    if (!(error instanceof ExtensionSsoError)) throw error;
    // The homeserver refused the token (used, expired): the user logs in again.
    if (error.code === 'token_endpoint_error' && !error.retryable) return answer(400, { error: 'invalid_grant' });
    console.error(`matrix login: ${error.code}: ${error.message}`); // the homeserver is down or misconfigured
    return answer(502, { error: 'temporarily_unavailable' });
  }
}

// The route behind a Matrix client's tokenHandoffUrl: the browser posts { type: 'm.login.token', token }.
import { matrixTokenLogin } from 'extension-sso/server';

export async function matrixHandoff(request: Request): Promise<Response> {
  const { token } = (await request.json()) as { token: string };
  const session = await matrixTokenLogin({
    homeserverUrl: 'https://matrix.example',
    loginToken: token,
    initialDeviceDisplayName: 'My extension',
  });
  return Response.json({ access_token: session.accessToken, user_id: session.userId, device_id: session.deviceId });
}

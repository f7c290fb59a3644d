// Calls to the platform's API as a service client (machine to machine): short-lived JWTs signed
// with the client's private key, renewed a minute before they expire.
import { ServiceClientTokenProvider } from 'extension-sso/server';

const accessKey = process.env.SERVICE_CLIENT_ACCESS_KEY; // a secret: never log it
if (!accessKey) throw new Error('set SERVICE_CLIENT_ACCESS_KEY');
const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl: 'https://login.example' });

const API = 'https://api.example';

export async function platformApi(path: string): Promise<Response> {
  // The token goes to the API only: `//host/x`, `/\host/x` or a whole URL would name another host.
  const url = new URL(path, API);
  if (url.origin !== API) throw new Error(`platformApi: ${JSON.stringify(path)} leaves ${API}`);
  return fetch(url, { headers: { authorization: `Bearer ${await provider.getToken()}` } });
}

// Calls to the platform's API as a service client (machine to machine): short-lived JWTs signed
// with the client's private key, renewed a minute before they expire.
import { ServiceClientTokenProvider } from 'extension-sso/server';

const accessKey = process.env.SERVICE_CLIENT_ACCESS_KEY; // a secret: never log it
if (!accessKey) throw new Error('set SERVICE_CLIENT_ACCESS_KEY');
const provider = new ServiceClientTokenProvider({ accessKey, issuerUrl: 'https://login.example' });

export async function platformApi(path: string): Promise<Response> {
  return fetch(new URL(path, 'https://api.example'), { headers: { authorization: `Bearer ${await provider.getToken()}` } });
}

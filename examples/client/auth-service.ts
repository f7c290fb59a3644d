// An authentication service that keeps the session in an HttpOnly cookie (Mia-Platform Authentication Service).
import { ExtensionClient } from 'extension-sso/client';

export const client = new ExtensionClient({
  profile: 'mia-auth-service',
  authServiceUrl: 'https://auth.example', // on your domain: its cookie must reach your pages' API calls
  appId: 'my-extension', // the application configured in the service
  providerId: 'okta', // the identity provider the service logs in with
  redirect: '/home', // where the service returns at the end
});

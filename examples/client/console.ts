// A host console that frames extensions and signs their users in (Mia-Platform Console).
import { ExtensionClient } from 'extension-sso/client';

export const client = new ExtensionClient({
  profile: 'mia-console',
  consoleUrl: 'https://console.example', // the console's address
  tenantId: 'acme', // the company (tenant) the extension is installed for
  extensionId: 'my-extension', // the extension's id in the console
  tokenHandoffUrl: '/api/token', // required: your backend exchanges the code with the console
  navigation: 'top', // the console's page goes to its login page (it runs installHostBridge) …
  hostOrigin: 'https://console.example', // … and only this origin is talked to
});

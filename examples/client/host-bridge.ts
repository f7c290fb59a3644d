// The host console's page (not the extension): takes over the navigation for `navigation: 'top'`.
import { installHostBridge } from 'extension-sso/client';

const frame = document.querySelector<HTMLIFrameElement>('iframe#extension');
if (frame) {
  installHostBridge({
    extensionOrigin: 'https://my-extension.example', // the only sender accepted
    frame, // and only from this iframe
    allowedUrlPrefixes: ['https://console.example/tenants/'], // where it may send the whole page
  });
}

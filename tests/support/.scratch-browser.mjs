import { createServer } from 'node:http';
import { startConsole } from '../../www/console/server.mjs';
import { launchProfile } from './browser.mjs';
// tiny extension on 127.0.0.1
const ext = createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(`<!doctype html><h3>Extension</h3><div id=q>${u.search.replace(/</g,'')}</div><div id=log></div>
<script>
window.addEventListener('message', e => { document.getElementById('log').textContent += ' msg:' + JSON.stringify(e.data) + '@' + e.origin; });
window.go = (url) => parent.postMessage({ type: 'extension-sso:navigate', url }, '*');
</script>`);
});
await new Promise(r => ext.listen(0, '127.0.0.1', r));
const extUrl = `http://127.0.0.1:${ext.address().port}/extension/`;
const c = await startConsole({ publicHostname: 'localhost', extensions: [{ tenantId: 'demo-tenant', extensionId: 'demo-extension', frameUrl: extUrl, callbackUrl: extUrl + 'callback', name: 'Demo Extension' }] });
const b = await launchProfile();
try {
  const page = await b.context.newPage();
  page.on('console', m => console.log('console:', m.type(), m.text()));
  await page.goto(c.url + '/');
  const frame = page.frameLocator('#extension-frame');
  await frame.locator('h3').waitFor();
  await page.screenshot({ path: '/tmp/scratch-servers/host.png' });
  const f = page.frames().find(fr => fr.url().startsWith(extUrl));
  // bad: other path
  await f.evaluate((u) => window.go(u), c.url + '/jwks');
  await f.evaluate((u) => window.go(u), 'http://evil.example/tenants/demo-tenant/extension/demo-extension/authz?state=a');
  await page.waitForTimeout(200);
  console.log('still on', page.url());
  const nav = page.waitForURL(/authz/);
  await f.evaluate((u) => window.go(u), c.authzUrl('demo-tenant', 'demo-extension', 'st-browser'));
  await nav;
  console.log('top now', page.url());
  await page.screenshot({ path: '/tmp/scratch-servers/authz.png' });
  await page.getByText('Alan Turing').click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/callback/);
  console.log('callback', page.url());
  // self mode: iframe navigates to authz
  await page.goto(c.url + '/');
  const f2 = await (await page.waitForSelector('#extension-frame')).contentFrame();
  await f2.waitForSelector('h3');
  await f2.evaluate((u) => { location.href = u; }, c.authzUrl('demo-tenant', 'demo-extension', 'st-self'));
  await f2.waitForSelector('button.primary');
  await page.screenshot({ path: '/tmp/scratch-servers/self.png' });
  await f2.click('button.primary');
  await f2.waitForURL(/callback/);
  console.log('iframe callback', f2.url());
  // deny popup
} finally { await b.close(); await c.close(); ext.close(); }

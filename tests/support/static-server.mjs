// A static file server on 127.0.0.1 for browser tests: serves only the
// listed directories of the repository (e.g. pkg/ and tests/vectors/).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.d.ts': 'text/plain',
};

/** Serves `root`/<prefix>/... for each prefix in `dirs`, plus `pages` ({ '/x.html': text }). */
export async function startStaticServer(root, dirs, pages = {}) {
  const allowed = dirs.map((d) => resolve(root, d) + sep);
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (pages[pathname] !== undefined) {
      res.writeHead(200, { 'content-type': TYPES['.html'] }).end(pages[pathname]);
      return;
    }
    const file = resolve(root, normalize(`.${decodeURIComponent(pathname)}`));
    if (!allowed.some((d) => file.startsWith(d))) { res.writeHead(404).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
  };
}

// A controllable JWK Set server on 127.0.0.1 for the verifier's fault tests (issue 4).
//
//   const s = await startJwksServer({ jwks });
//   s.url                      // http://127.0.0.1:<port>/jwks
//   s.hits()                   // number of requests served on the JWKS path so far
//   s.setJwks(jwks)            // object (serialised) or string (sent as is)
//   s.setStatus(500)           // status of the next answers (sticky until changed; 200 by default)
//   s.setDelay(ms)             // delay before every answer (0 = none)
//   s.setBody('{not json')     // raw body replacing the serialised set (null = back to the set)
//   s.setCacheControl('max-age=60')  // null = no Cache-Control header
//   s.setContentType('text/plain')   // default application/jwk-set+json
//   s.setRedirect('http://127.0.0.1:1/elsewhere')  // answer 302 with this Location (null = off)
//   s.lastRequest()            // { method, url, headers } of the last request, or null
//   s.reset()                  // every setting back to its default (keeps the JWK Set and the hit count)
//   await s.close()
//
// Everything listens on 127.0.0.1 with an ephemeral port by default, so tests can run in parallel.
import { createServer } from 'node:http';

export async function startJwksServer({ jwks = { keys: [] }, host = '127.0.0.1', port = 0, path = '/jwks' } = {}) {
  const defaults = {
    status: 200,
    delay: 0,
    body: null,
    cacheControl: 'public, max-age=300',
    contentType: 'application/jwk-set+json',
    redirect: null,
  };
  let settings = { ...defaults };
  let current = jwks;
  let hits = 0;
  let last = null;
  const timers = new Set();

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    hits += 1;
    last = { method: req.method, url: req.url, headers: { ...req.headers } };
    const s = settings;
    const answer = () => {
      if (res.destroyed) return;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (s.redirect) {
        res.writeHead(302, { location: s.redirect, 'content-length': 0 }).end();
        return;
      }
      let body;
      if (s.body !== null && s.body !== undefined) body = s.body;
      else body = typeof current === 'string' ? current : JSON.stringify(current);
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
      const headers = { 'content-length': buf.length };
      if (s.contentType) headers['content-type'] = s.contentType;
      if (s.cacheControl) headers['cache-control'] = s.cacheControl;
      res.writeHead(s.status, headers);
      res.end(req.method === 'HEAD' ? undefined : buf);
    };
    if (s.delay > 0) {
      const t = setTimeout(() => { timers.delete(t); answer(); }, s.delay);
      timers.add(t);
    } else {
      answer();
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const origin = `http://${host}:${actualPort}`;

  return {
    url: `${origin}${path}`,
    origin,
    port: actualPort,
    hits: () => hits,
    lastRequest: () => last,
    setJwks(value) { current = value; },
    setStatus(code) { settings = { ...settings, status: code }; },
    setDelay(ms) { settings = { ...settings, delay: Math.max(0, Number(ms) || 0) }; },
    setBody(raw) { settings = { ...settings, body: raw }; },
    setCacheControl(value) { settings = { ...settings, cacheControl: value }; },
    setContentType(value) { settings = { ...settings, contentType: value }; },
    setRedirect(location) { settings = { ...settings, redirect: location || null }; },
    reset() { settings = { ...defaults }; },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

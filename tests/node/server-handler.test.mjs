// createHandoffHandler and toNodeListener under attack and misuse (issue 17 item 6, issue 19):
// request targets and Host headers, bodies never finished, clients that go away, the status and
// log level of every error code, opaque access tokens, the 404, the options reader.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';

import {
  createHandoffHandler, toNodeListener, exchangeCode, refreshTokens, matrixTokenLogin, ServiceClientTokenProvider,
  errorCodes, ExtensionSsoError,
} from 'extension-sso/server';

const EXT = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const REDIRECT = 'https://ext.example/cb';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln';

async function listen(listener) {
  const server = createServer(listener);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** A token endpoint on 127.0.0.1 answering `answer()` (a JSON object) and counting requests. */
async function tokenEndpoint(answer = () => ({ access_token: JWT, token_type: 'Bearer', expires_in: 60 })) {
  let count = 0;
  const server = await listen(async (req, res) => {
    count++;
    for await (const _ of req);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer()));
  });
  return { ...server, endpoint: `${server.url}/token`, count: () => count };
}

/** Sends raw bytes and resolves to what the server answered (the status line and body), or '' when it closed. */
function raw(port, bytes, { end = true, waitMs } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => { data += chunk; if (waitMs === undefined) return; });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(bytes);
    if (end) socket.end();
    if (waitMs !== undefined) setTimeout(() => { socket.destroy(); resolve(data); }, waitMs);
  });
}

const statusOf = (answer) => Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
/** The JSON body of a raw HTTP/1.1 answer (chunked or not). */
function bodyOf(answer) {
  const at = answer.indexOf('\r\n\r\n');
  let body = answer.slice(at + 4);
  if (/^transfer-encoding: *chunked/im.test(answer.slice(0, at))) {
    let out = '';
    for (;;) {
      const eol = body.indexOf('\r\n');
      const size = parseInt(body.slice(0, eol), 16);
      if (!size) break;
      out += body.slice(eol + 2, eol + 2 + size);
      body = body.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  return JSON.parse(body);
}

function handlerWith({ verify = async () => ({ sub: 'u1' }), endpoint = 'https://as.example/token', ...rest } = {}) {
  const reports = [];
  const handler = createHandoffHandler({
    tokenEndpoint: endpoint, clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, allowedOrigins: [EXT],
    verifier: { verify }, onError: (error, context) => reports.push({ error, ...context }), ...rest,
  });
  return { handler, reports };
}

describe('toNodeListener: the request target is a path, the Host is checked', () => {
  let server;
  let reports;
  before(async () => {
    const made = handlerWith();
    reports = made.reports;
    server = await listen(toNodeListener(made.handler));
  });
  after(() => server.close());

  test('POST //evil.example/token is the path //evil.example/token: 404, not the handoff', async () => {
    const answer = await raw(server.port, 'POST //evil.example/token HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ' + EXT
      + '\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    assert.equal(statusOf(answer), 404);
    assert.match(bodyOf(answer).error_description, /serves POST \/token and GET \/userinfo/);
  });

  test('an absolute-form target (POST http://evil.example/token) is 400, reported to onError', async () => {
    reports.length = 0;
    const answer = await raw(server.port, 'POST http://evil.example/token HTTP/1.1\r\nHost: evil.example\r\nOrigin: ' + EXT
      + '\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    assert.equal(statusOf(answer), 400);
    assert.equal(bodyOf(answer).error, 'invalid_request');
    assert.equal(reports.length, 1);
    assert.ok(reports[0].error instanceof ExtensionSsoError);
    assert.deepEqual([reports[0].error.code, reports[0].status, reports[0].level], ['invalid_request', 400, 'debug']);
  });

  // `new Request()` refuses TRACE (a forbidden method of the Fetch standard), and node:http passes
  // it to the listener, which must answer it, not reject: an unhandled rejection ends a Node
  // process by default, so one request would take the server down.
  test('a TRACE request is 400 with a JSON body, through onError, and the server keeps serving', async () => {
    reports.length = 0;
    const answer = await raw(server.port, 'TRACE /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(answer), 400, answer);
    assert.equal(bodyOf(answer).error, 'invalid_request');
    assert.match(bodyOf(answer).error_description, /TRACE/);
    assert.deepEqual([reports.at(-1)?.error.code, reports.at(-1)?.status, reports.at(-1)?.level], ['invalid_request', 400, 'debug']);
    const next = await raw(server.port, 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(next), 404);
  });

  for (const host of ['evil host', 'a/b', 'user@host', '[::1', 'host:port']) {
    test(`a malformed Host (${JSON.stringify(host)}) is 400 with a JSON body, through onError`, async () => {
      reports.length = 0;
      const answer = await raw(server.port, `GET /userinfo HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(answer), 400, answer);
      assert.match(bodyOf(answer).error_description, /Host/);
      assert.equal(reports.at(-1)?.error.code, 'invalid_request');
      assert.equal(reports.at(-1)?.status, 400);
    });
  }
});

describe('the body is read only when route, method, origin and content type allow it', () => {
  let server;
  let reports;
  let errors;
  const realError = console.error;
  before(async () => {
    const made = handlerWith({ onError: undefined });
    // The default onError: capture what it logs.
    errors = [];
    console.error = (...args) => errors.push(args.join(' '));
    reports = made.reports;
    server = await listen(toNodeListener(made.handler));
  });
  after(async () => { console.error = realError; await server.close(); });

  const unfinished = (method, path, origin, type = 'application/json', length = 1000) => `${method} ${path} HTTP/1.1\r\n`
    + `Host: 127.0.0.1\r\nOrigin: ${origin}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n{"code":"c","st`;

  test('refusals come before the body: the client gets its answer while its upload is unfinished', async () => {
    for (const [request, status] of [
      [unfinished('POST', '/no-such-path', 'https://evil.example'), 404],
      [unfinished('PUT', '/token', EXT), 405],
      [unfinished('POST', '/token', 'https://evil.example'), 403],
      [unfinished('POST', '/token', EXT, 'text/plain'), 415],
      [unfinished('POST', '/token', EXT, 'application/json', 100000), 413],
    ]) {
      const answer = await raw(server.port, request, { end: false, waitMs: 300 });
      assert.equal(statusOf(answer), status, request.split('\r\n')[0]);
    }
  });

  test('200 uploads aborted mid-body log nothing and report no server error', async () => {
    const small = (origin) => `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${origin}\r\n`
      + 'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"code":"c","state":"s","pad":"';
    await Promise.all(Array.from({ length: 200 }, (_, i) => raw(server.port, small(i % 2 ? EXT : 'https://evil.example'), { end: false, waitMs: 50 })));
    // Let the server notice every disconnect.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(errors, [], 'nothing logged by the default onError');
  });
});

describe('every error code has an HTTP status and a level (one exhaustive match in Rust)', () => {
  const VERIFICATION = ['malformed', 'alg_not_allowed', 'no_matching_key', 'bad_signature', 'expired', 'not_yet_valid',
    'issuer_mismatch', 'audience_mismatch', 'missing_claim', 'invalid_claim', 'typ_mismatch', 'crit_unsupported'];
  const UPSTREAM = ['token_endpoint_error', 'network_error', 'jwks_fetch_failed', 'jwks_invalid', 'discovery_failed'];
  const CLIENT = ['aborted', 'invalid_request'];
  const expected = (code) => (VERIFICATION.includes(code) ? 401 : UPSTREAM.includes(code) ? 502 : CLIENT.includes(code) ? 400 : 500);
  let as;
  before(async () => { as = await tokenEndpoint(); });
  after(() => as.close());

  test('userinfo and exchange answer each code as the table says; onError gets the error itself', async () => {
    assert.ok(errorCodes().length >= 36);
    for (const code of errorCodes()) {
      const thrown = new ExtensionSsoError(code, `failed: ${code}`, { retryable: code === 'network_error' });
      const { handler, reports } = handlerWith({ endpoint: as.endpoint, verify: async () => { throw thrown; } });
      const info = await handler(new Request('http://api.example/userinfo', { headers: { authorization: `Bearer ${JWT}` } }));
      assert.equal(info.status, expected(code), `userinfo ${code}`);
      const body = await info.json();
      assert.ok(!JSON.stringify(body).includes(JWT));
      const ex = await handler(new Request('http://api.example/token', {
        method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
      }));
      assert.equal(ex.status, expected(code), `exchange ${code}`);
      assert.equal(reports.length, 2);
      for (const report of reports) assert.equal(report.error, thrown, 'the original error, code and all');
      const [userinfoLevel, exchangeLevel] = reports.map((r) => r.level);
      const status = expected(code);
      assert.equal(exchangeLevel, status >= 500 ? 'error' : status === 401 ? 'warn' : 'debug', `exchange level of ${code}`);
      assert.equal(userinfoLevel, status >= 500 ? 'error' : 'debug', `userinfo level of ${code}`);
    }
  });

  test('a refused code (invalid_grant) is 401 at debug level; an error without our code is 500', async () => {
    const grant = new ExtensionSsoError('token_endpoint_error', 'refused', { error: 'invalid_grant', status: 400 });
    let { handler, reports } = handlerWith({ endpoint: as.endpoint, verify: async () => { throw grant; } });
    const post = () => handler(new Request('http://api.example/token', {
      method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
    }));
    let res = await post();
    assert.deepEqual([res.status, (await res.json()).error, reports[0].level], [401, 'invalid_grant', 'debug']);
    const bug = new TypeError('verify is broken');
    ({ handler, reports } = handlerWith({ endpoint: as.endpoint, verify: async () => { throw bug; } }));
    res = await post();
    assert.deepEqual([res.status, (await res.json()).error], [500, 'server_error']);
    assert.equal(reports[0].error, bug);
    assert.equal(reports[0].level, 'error');
  });
});

describe('a discovery that fails is the provider\'s failure, whatever its code (review F4)', () => {
  test('metadata naming the issuer with a trailing slash: 502 discovery_failed at error, onError gets issuer_mismatch', async () => {
    let issuer;
    let tokenRequests = 0;
    const provider = await listen((req, res) => {
      if (!req.url.startsWith('/.well-known/')) tokenRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: `${issuer}/`, token_endpoint: `${issuer}/token` }));
    });
    issuer = provider.url;
    const reports = [];
    const handler = createHandoffHandler({
      issuer, clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, allowedOrigins: [EXT], allowInsecureHttp: true,
      verifier: { verify: async () => ({ sub: 'u1' }) }, onError: (error, context) => reports.push({ error, ...context }),
    });
    try {
      // The second handoff gets the remembered failure: the same answer.
      for (let i = 0; i < 2; i++) {
        const res = await handler(new Request('http://api.example/token', {
          method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
        }));
        assert.equal(res.status, 502, `handoff ${i + 1}`);
        assert.equal(res.headers.get('www-authenticate'), null);
        assert.equal((await res.json()).error, 'discovery_failed');
      }
      assert.deepEqual(reports.map((r) => [r.error.code, r.status, r.level]),
        [['issuer_mismatch', 502, 'error'], ['issuer_mismatch', 502, 'error']]);
      assert.equal(tokenRequests, 0);
      // exchangeCode still rejects with the error's own code.
      await assert.rejects(exchangeCode({ issuer, clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, code: 'c', allowInsecureHttp: true }),
        { code: 'issuer_mismatch' });
    } finally {
      await provider.close();
    }
  });
});

describe('answers decided after verification reach onError too', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const post = (handler) => handler(new Request('http://api.example/token', {
    method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
  }));
  let as;
  let big;
  before(async () => {
    as = await tokenEndpoint();
    big = await tokenEndpoint(() => ({ access_token: `${JWT}${'A'.repeat(5000)}`, token_type: 'Bearer' }));
  });
  after(async () => { await as.close(); await big.close(); });

  test('an access token whose exp passed (within the verifier\'s clock tolerance): 401, reported as expired at warn', async () => {
    const { handler, reports } = handlerWith({ endpoint: as.endpoint, verify: async () => ({ sub: 'u1', exp: now() - 5 }) });
    const res = await post(handler);
    assert.deepEqual([res.status, (await res.json()).error], [401, 'invalid_token']);
    assert.deepEqual(reports.map((r) => [r.error.code, r.status, r.level]), [['expired', 401, 'warn']]);
  });

  test('a verifier that resolves to something else than a claims object: 500, reported at error', async () => {
    for (const claims of [['x'], null, 'claims']) {
      const { handler, reports } = handlerWith({ endpoint: as.endpoint, verify: async () => claims });
      const res = await post(handler);
      assert.deepEqual([res.status, (await res.json()).error], [500, 'server_error']);
      assert.deepEqual(reports.map((r) => [r.status, r.level]), [[500, 'error']], JSON.stringify(claims));
      assert.ok(reports[0].error instanceof ExtensionSsoError);
      const info = await handler(new Request('http://api.example/userinfo', { headers: { authorization: `Bearer ${JWT}` } }));
      assert.equal(info.status, 500);
      assert.deepEqual(reports.map((r) => [r.status, r.level]), [[500, 'error'], [500, 'error']], JSON.stringify(claims));
    }
  });

  test('cookie mode, an access token too large for a cookie: 502, reported at error with why', async () => {
    const { handler, reports } = handlerWith({ endpoint: big.endpoint, session: {} });
    const res = await post(handler);
    assert.deepEqual([res.status, (await res.json()).error], [502, 'token_endpoint_error']);
    assert.equal(res.headers.get('set-cookie'), null);
    assert.deepEqual(reports.map((r) => [r.error.code, r.status, r.level]), [['token_endpoint_error', 502, 'error']]);
    assert.match(reports[0].error.message, /too large for a cookie/);
  });
});

describe('an opaque access token from the host', () => {
  let as;
  const realWarn = console.warn;
  before(async () => { as = await tokenEndpoint(() => ({ access_token: 'SlAV32hkKG', token_type: 'Bearer', expires_in: 60 })); });
  after(() => { console.warn = realWarn; return as.close(); });

  test('is refused before verification, with what to change on the host; the default onError warns', async () => {
    const warned = [];
    console.warn = (...args) => warned.push(args.join(' '));
    let verified = 0;
    const handler = createHandoffHandler({
      tokenEndpoint: as.endpoint, clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, allowedOrigins: [EXT],
      verifier: { verify: async () => { verified++; return {}; } },
    });
    const res = await handler(new Request('http://api.example/token', {
      method: 'POST', headers: { origin: EXT, 'content-type': 'application/json' }, body: '{"code":"c","state":"s"}',
    }));
    assert.equal(res.status, 401);
    assert.equal(verified, 0);
    assert.equal(warned.length, 1);
    assert.match(warned[0], /malformed/);
    assert.match(warned[0], /RFC 9068/);
    assert.ok(!warned[0].includes('SlAV32hkKG'));
  });
});

describe('the options reader: unknown keys are refused whatever their value', () => {
  const myFetch = async () => new Response('{}');
  const exchange = { tokenEndpoint: 'https://as.example/token', clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, code: 'x' };
  test('a function-valued typo (fecth) fails every helper before any request', async () => {
    for (const call of [
      () => exchangeCode({ ...exchange, fecth: myFetch }),
      () => refreshTokens({ tokenEndpoint: 'https://as.example/token', clientId: 'c', clientSecret: 's', refreshToken: 'r', fecth: myFetch }),
      () => matrixTokenLogin({ homeserverUrl: 'https://matrix.example', loginToken: 't', fecth: myFetch }),
      () => createHandoffHandler({ ...handlerOptions(), fecth: myFetch }),
      () => new ServiceClientTokenProvider({ accessKey: 'a.b.c.d', issuerUrl: 'https://i.example', fecth: myFetch }),
      () => toNodeListener(async () => new Response(), { onEror: () => {} }),
    ]) {
      await assert.rejects(async () => call(), (e) => {
        assert.ok(e instanceof ExtensionSsoError);
        assert.equal(e.code, 'invalid_options');
        assert.match(e.message, /unknown option "(fecth|onEror)"/);
        return true;
      });
    }
  });
  function handlerOptions() {
    return { tokenEndpoint: 'https://as.example/token', clientId: 'c', clientSecret: 's', redirectUri: REDIRECT, allowedOrigins: [EXT], verifier: { verify: async () => ({}) } };
  }
});

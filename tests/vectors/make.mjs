// The shared vector suite of the verifier (issue 4), generated in Node.
//
//   import { makeVectors } from '../vectors/make.mjs';
//   const vectors = await makeVectors();   // { jwks, now, cases: [{ name, token, options, expect, jose? }] }
//
// Keys are generated with jose (plus node:crypto for what jose refuses to
// make, e.g. a 1024-bit RSA key); well-formed tokens are signed by jose's
// SignJWT; hand-crafted tokens (duplicate members, padding, DER ECDSA, ...)
// are signed here over their exact signing input, so each case fails for
// the one reason it names. `now` is fixed, so the suite is deterministic in
// everything but key material.
//
// `options` are JwksVerifier options without `jwks` and `now` (the runner
// adds both). `expect` is 'ok' or the exact `.code`. `jose` says what jose
// (jwtVerify + createLocalJWKSet, with equivalent options) does with the
// case when it differs from us: 'accepts' where we are deliberately
// stricter (RFC 7515 §2, RFC 8725, the issue's rules), 'rejects' where jose
// needs exactly one matching key and we try the candidates, 'skip' where
// there is nothing to compare (no jose equivalent, or not a string). tests/vectors/run.mjs runs the cases in any runtime.
import { createHmac, generateKeyPairSync, KeyObject, sign as nodeSign, constants } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export const ISS = 'https://console.example';
export const AUD = 'ext-123';
export const NOW = 1_700_000_000;
export const ALGS = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };
const BASE = { issuer: ISS, audience: AUD };

const b64u = (data) => Buffer.from(data).toString('base64url');
const json = (value) => b64u(JSON.stringify(value));

/** Raw signature of `input` (ASCII) with a private KeyObject, as JWS wants it. */
function rawSign(alg, key, input, { der = false } = {}) {
  const data = Buffer.from(input, 'latin1');
  if (alg === 'EdDSA') return nodeSign(null, data, key);
  const hash = HASH[alg.slice(2)];
  if (alg.startsWith('ES')) return nodeSign(hash, data, { key, dsaEncoding: der ? 'der' : 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return nodeSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  }
  return nodeSign(hash, data, key);
}

export async function makeVectors() {
  const now = NOW;
  const keys = {};        // kid -> { alg, priv: KeyObject, cryptoKey }
  const jwks = { keys: [] };
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `k-${alg}`;
    jwks.keys.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
    keys[kid] = { alg, priv: KeyObject.from(privateKey), cryptoKey: privateKey };
  }
  // A second ES256 key with the same curve and no `alg`, and a kid-less
  // Ed25519 key: candidates when a token has no kid.
  {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    jwks.keys.push({ ...(await exportJWK(publicKey)), kid: 'k-ES256-b', key_ops: ['verify'] });
    keys['k-ES256-b'] = { alg: 'ES256', priv: KeyObject.from(privateKey), cryptoKey: privateKey };
  }
  // Unusable entries are skipped, not fatal: a 1024-bit RSA key, an
  // encryption key, a key whose key_ops exclude verify, a symmetric key,
  // and a broken EC key.
  {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    jwks.keys.push({ ...small.publicKey.export({ format: 'jwk' }), kid: 'k-rsa-1024', alg: 'RS256' });
    keys['k-rsa-1024'] = { alg: 'RS256', priv: small.privateKey };
    const enc = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwks.keys.push({ ...enc.publicKey.export({ format: 'jwk' }), kid: 'k-enc', use: 'enc' });
    keys['k-enc'] = { alg: 'RS256', priv: enc.privateKey };
    const ops = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwks.keys.push({ ...ops.publicKey.export({ format: 'jwk' }), kid: 'k-ops', key_ops: ['encrypt'] });
    keys['k-ops'] = { alg: 'ES256', priv: ops.privateKey };
    jwks.keys.push({ kty: 'oct', kid: 'k-oct', k: b64u('a shared secret that must never verify anything') });
    jwks.keys.push({ kty: 'EC', crv: 'P-256', kid: 'k-broken', x: 'AAAA', y: 'AAAA' });
  }

  const cases = [];
  const add = (name, token, expect, extra = {}) => cases.push({ name, token, options: { ...BASE, ...(extra.options ?? {}) }, expect, ...(extra.jose ? { jose: extra.jose } : {}) });

  const claims = (over = {}) => ({ iss: ISS, aud: AUD, sub: 'user-1', iat: now - 60, exp: now + 3600, ...over });
  /** A well-formed token signed by jose. */
  const joseToken = async (kid, payload = claims(), header = {}) => {
    const { alg, cryptoKey } = keys[kid];
    return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT', ...header }).sign(cryptoKey);
  };
  /** A token over exact header/payload segments, signed with `kid`'s key (or `signer`). */
  const craft = (headerSeg, payloadSeg, kid, { alg = keys[kid]?.alg, der = false, signer = kid } = {}) => {
    const input = `${headerSeg}.${payloadSeg}`;
    return `${input}.${b64u(rawSign(alg, keys[signer].priv, input, { der }))}`;
  };
  const hdr = (kid, over = {}) => json({ alg: keys[kid].alg, kid, typ: 'JWT', ...over });

  // --- accepted -----------------------------------------------------------
  for (const alg of ALGS) add(`ok ${alg} (signed by jose)`, await joseToken(`k-${alg}`), 'ok');
  add('ok ES256 without kid (two candidate keys, the signing one verifies)', craft(json({ alg: 'ES256' }), json(claims()), 'k-ES256-b'), 'ok', { jose: 'rejects' });
  add('ok EdDSA without kid', await (async () => {
    const t = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(keys['k-EdDSA'].cryptoKey); return t;
  })(), 'ok');
  add('ok aud as an array with one accepted value', await joseToken('k-ES256', claims({ aud: ['other', AUD] })), 'ok');
  add('ok one of several issuers', await joseToken('k-RS256', claims({ iss: 'https://second.example' })), 'ok', { options: { issuer: ['https://second.example', ISS] } });
  add('ok audience: null accepts any audience', await joseToken('k-ES256', claims({ aud: 'whoever' })), 'ok', { options: { audience: null } });
  add('ok audience: null accepts a token without aud', await joseToken('k-ES256', claims({ aud: undefined })), 'ok', { options: { audience: null } });
  add('ok exp one second inside the tolerance', await joseToken('k-ES256', claims({ exp: now - 30 + 1 })), 'ok');
  add('ok nbf exactly at the tolerance', await joseToken('k-ES256', claims({ nbf: now + 30 })), 'ok');
  add('ok iat exactly at the tolerance', await joseToken('k-ES256', claims({ iat: now + 30 })), 'ok');
  add('ok clockToleranceSec 0, exp one second ahead', await joseToken('k-ES256', claims({ exp: now + 1 })), 'ok', { options: { clockToleranceSec: 0 } });
  add('ok clockToleranceSec 0, nbf = now', await joseToken('k-ES256', claims({ nbf: now })), 'ok', { options: { clockToleranceSec: 0 } });
  add('ok fractional exp', await joseToken('k-ES256', claims({ exp: now + 0.5 })), 'ok', { options: { clockToleranceSec: 0 } });
  add('ok typ at+jwt matches application/at+jwt', await joseToken('k-ES256', claims(), { typ: 'application/at+jwt' }), 'ok', { options: { typ: 'at+jwt' } });
  add('ok typ is compared case-insensitively', await joseToken('k-PS256', claims(), { typ: 'AT+JWT' }), 'ok', { options: { typ: 'at+jwt' } });
  add('ok requiredClaims present', await joseToken('k-ES256', claims({ jti: 'id-1' })), 'ok', { options: { requiredClaims: ['sub', 'jti'] } });
  add('ok algorithms allow-list contains the alg', await joseToken('k-RS256'), 'ok', { options: { algorithms: ['ES256', 'RS256'] } });
  add('ok jku header ignored (never fetched) without rejectKeyHints', await joseToken('k-ES256', claims(), { jku: 'http://127.0.0.1:9/jwks' }), 'ok');
  add('ok unknown private claims and header members', await joseToken('k-ES256', claims({ scope: 'a b', nested: { x: [1, 2, { y: null }] } }), { 'x-custom': true }), 'ok');
  add('ok unicode claims', await joseToken('k-ES256', claims({ name: 'Zoë 🦀 \u2028' })), 'ok');

  // --- malformed ----------------------------------------------------------
  {
    const h = hdr('k-ES256');
    const p = json(claims());
    const good = craft(h, p, 'k-ES256');
    const [, , s] = good.split('.');
    add('malformed: empty string', '', 'malformed');
    add('malformed: not a string', 12345, 'malformed', { jose: 'skip' });
    add('malformed: 2 segments', `${h}.${p}`, 'malformed');
    add('malformed: 4 segments', `${good}.${s}`, 'malformed');
    add('malformed: 5 segments (JWE)', `${h}.${p}.${s}.${s}.${s}`, 'malformed');
    // A header whose base64url needs padding (length not a multiple of 4).
    let ph = h;
    for (let i = 0; ph.length % 4 === 0; i++) ph = hdr('k-ES256', { x: 'y'.repeat(i) });
    const pad = (seg) => seg + '='.repeat((4 - (seg.length % 4)) % 4);
    add('malformed: padding in the header segment', craft(pad(ph), p, 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: padding in the payload segment', craft(h, `${p}=`, 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: padding in the signature segment', `${h}.${p}.${pad(s)}${s.length % 4 === 0 ? '==' : ''}`, 'malformed', { jose: 'accepts' });
    add('malformed: space in the payload segment', craft(h, `${p.slice(0, 8)} ${p.slice(8)}`, 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: newline in the header segment', craft(`${h.slice(0, 4)}\n${h.slice(4)}`, p, 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: trailing whitespace after the signature', `${good} `, 'malformed', { jose: 'accepts' });
    add('malformed: standard base64 (+ and /) in the payload', craft(h, `${p.slice(0, 4)}+/${p.slice(6)}`, 'k-ES256'), 'malformed');
    add('malformed: segment length 4n+1', craft(h, p.length % 4 === 1 ? p : `${p}${'A'.repeat((5 - (p.length % 4)) % 4)}`, 'k-ES256'), 'malformed');
    add('malformed: header is not JSON', craft(b64u('{"alg":"ES256",'), p, 'k-ES256'), 'malformed');
    add('malformed: payload is not JSON', craft(h, b64u('{"iss":'), 'k-ES256'), 'malformed');
    add('malformed: payload is JSON with trailing garbage', craft(h, b64u(`${JSON.stringify(claims())}x`), 'k-ES256'), 'malformed');
    add('malformed: duplicate member in the header', craft(b64u('{"alg":"ES256","kid":"k-ES256","alg":"ES256"}'), p, 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: duplicate "iss" in the payload', craft(h, b64u(`{"iss":"https://evil.example","iss":"${ISS}","aud":"${AUD}","exp":${now + 3600}}`), 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: payload is an array', craft(h, json([claims()]), 'k-ES256'), 'malformed');
    add('malformed: payload is a string', craft(h, json('hello'), 'k-ES256'), 'malformed');
    add('malformed: payload is null', craft(h, b64u('null'), 'k-ES256'), 'malformed');
    add('malformed: header is an array', craft(b64u('["ES256"]'), p, 'k-ES256'), 'malformed');
    add('malformed: payload is not UTF-8', craft(h, b64u(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 'k-ES256'), 'malformed');
    add('malformed: oversize token (over 16 KiB)', craft(h, json(claims({ pad: 'x'.repeat(17 * 1024) })), 'k-ES256'), 'malformed', { jose: 'accepts' });
    add('malformed: header without alg', craft(json({ kid: 'k-ES256' }), p, 'k-ES256'), 'malformed');
    add('malformed: alg is not a string', craft(json({ alg: 256, kid: 'k-ES256' }), p, 'k-ES256'), 'malformed', { jose: 'skip' });
    add('malformed: kid is not a string', craft(json({ alg: 'ES256', kid: 7 }), p, 'k-ES256'), 'malformed', { jose: 'skip' });
    add('malformed: crit is an empty array', craft(hdr('k-ES256', { crit: [] }), p, 'k-ES256'), 'malformed');
    for (const [member, value] of [['jku', 'http://127.0.0.1:9/jwks'], ['x5u', 'http://127.0.0.1:9/cert'], ['x5c', ['MIIB']], ['jwk', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }]]) {
      add(`malformed: rejectKeyHints and a "${member}" header`, craft(hdr('k-ES256', { [member]: value }), p, 'k-ES256'), 'malformed', { options: { rejectKeyHints: true }, jose: 'skip' });
    }
  }

  // --- alg_not_allowed ----------------------------------------------------
  {
    const p = json(claims());
    add('alg_not_allowed: none with an empty signature', `${json({ alg: 'none' })}.${p}.`, 'alg_not_allowed');
    add('alg_not_allowed: NONE (case variant)', `${json({ alg: 'NONE' })}.${p}.`, 'alg_not_allowed');
    const hs = json({ alg: 'HS256', kid: 'k-oct' });
    add('alg_not_allowed: HS256 signed with the symmetric JWK', `${hs}.${p}.${b64u(createHmac('sha256', 'a shared secret that must never verify anything').update(`${hs}.${p}`).digest())}`, 'alg_not_allowed');
    const hsPub = json({ alg: 'HS256', kid: 'k-RS256' });
    const rsaPem = keys['k-RS256'].priv.export({ format: 'jwk' });
    add('alg_not_allowed: HS256 keyed with the RSA public key (key confusion)', `${hsPub}.${p}.${b64u(createHmac('sha256', JSON.stringify({ kty: 'RSA', n: rsaPem.n, e: rsaPem.e })).update(`${hsPub}.${p}`).digest())}`, 'alg_not_allowed');
    add('alg_not_allowed: ES512 (unsupported)', craft(json({ alg: 'ES512' }), p, 'k-ES256', { alg: 'ES256' }), 'alg_not_allowed', { jose: 'skip' });
    add('alg_not_allowed: RS256 outside algorithms [ES256]', await joseToken('k-RS256'), 'alg_not_allowed', { options: { algorithms: ['ES256'] } });
    add('alg_not_allowed: EdDSA outside algorithms [ES256, PS256]', await joseToken('k-EdDSA'), 'alg_not_allowed', { options: { algorithms: ['ES256', 'PS256'] } });
    add('alg_not_allowed: before key lookup (unknown kid, disallowed alg)', await joseToken('k-RS256', claims(), { kid: 'nope' }), 'alg_not_allowed', { options: { algorithms: ['ES256'] } });
  }

  // --- no_matching_key ----------------------------------------------------
  {
    const p = json(claims());
    add('no_matching_key: unknown kid', await joseToken('k-ES256', claims(), { kid: 'unknown' }), 'no_matching_key');
    add('no_matching_key: kid of an RSA key on an ES256 token', craft(json({ alg: 'ES256', kid: 'k-RS256' }), p, 'k-ES256'), 'no_matching_key');
    add('no_matching_key: kid of an ES384 key on an ES256 token', craft(json({ alg: 'ES256', kid: 'k-ES384' }), p, 'k-ES256'), 'no_matching_key');
    add('no_matching_key: JWK alg RS384 but token RS256', craft(json({ alg: 'RS256', kid: 'k-RS384' }), p, 'k-RS384', { alg: 'RS256' }), 'no_matching_key');
    add('no_matching_key: RSA key below 2048 bits is unusable', craft(json({ alg: 'RS256', kid: 'k-rsa-1024' }), p, 'k-rsa-1024'), 'no_matching_key', { jose: 'skip' });
    add('no_matching_key: key with use=enc', craft(json({ alg: 'RS256', kid: 'k-enc' }), p, 'k-enc'), 'no_matching_key');
    add('no_matching_key: key whose key_ops exclude verify', craft(json({ alg: 'ES256', kid: 'k-ops' }), p, 'k-ops'), 'no_matching_key');
    add('no_matching_key: invalid JWK in the set is skipped', craft(json({ alg: 'ES256', kid: 'k-broken' }), p, 'k-ES256'), 'no_matching_key', { jose: 'skip' });
  }

  // --- bad_signature ------------------------------------------------------
  {
    const h = hdr('k-ES256');
    const good = craft(h, json(claims()), 'k-ES256');
    const [gh, , gs] = good.split('.');
    add('bad_signature: payload changed after signing', `${gh}.${json(claims({ sub: 'admin' }))}.${gs}`, 'bad_signature');
    add('bad_signature: signed by another key of the same kind', craft(h, json(claims()), 'k-ES256', { signer: 'k-ES256-b' }), 'bad_signature');
    add('bad_signature: DER-encoded ECDSA', craft(h, json(claims()), 'k-ES256', { der: true }), 'bad_signature');
    add('bad_signature: DER-encoded ECDSA (ES384)', craft(hdr('k-ES384'), json(claims()), 'k-ES384', { der: true }), 'bad_signature');
    add('bad_signature: ECDSA signature one byte short', `${gh}.${good.split('.')[1]}.${b64u(Buffer.from(gs, 'base64url').subarray(1))}`, 'bad_signature');
    add('bad_signature: ECDSA r = 0', `${gh}.${good.split('.')[1]}.${b64u(Buffer.concat([Buffer.alloc(32), Buffer.from(gs, 'base64url').subarray(32)]))}`, 'bad_signature');
    add('bad_signature: ECDSA s = n (out of range)', `${gh}.${good.split('.')[1]}.${b64u(Buffer.concat([Buffer.from(gs, 'base64url').subarray(0, 32), Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex')]))}`, 'bad_signature');
    add('bad_signature: empty signature', `${gh}.${good.split('.')[1]}.`, 'bad_signature');
    const rs = craft(hdr('k-RS256'), json(claims()), 'k-RS256');
    const [rh, rp, rsig] = rs.split('.');
    add('bad_signature: RSA signature one byte short', `${rh}.${rp}.${b64u(Buffer.from(rsig, 'base64url').subarray(1))}`, 'bad_signature');
    add('bad_signature: RSA signature with a flipped bit', `${rh}.${rp}.${b64u(Buffer.from(rsig, 'base64url').map((b, i) => (i === 100 ? b ^ 1 : b)))}`, 'bad_signature');
    add('bad_signature: PS256 header over a PKCS#1 v1.5 signature', craft(hdr('k-PS256'), json(claims()), 'k-PS256', { alg: 'RS256' }), 'bad_signature');
    const ed = craft(hdr('k-EdDSA'), json(claims()), 'k-EdDSA');
    const [eh, ep, es] = ed.split('.');
    const edSig = Buffer.from(es, 'base64url');
    add('bad_signature: Ed25519 S >= L', `${eh}.${ep}.${b64u(Buffer.concat([edSig.subarray(0, 32), Buffer.alloc(32, 0xff).fill(0x7f, 31)]))}`, 'bad_signature');
    add('bad_signature: Ed25519 signature of another message', `${eh}.${json(claims({ sub: 'x' }))}.${es}`, 'bad_signature');
    // Claim errors are reported only once the signature verified.
    add('bad_signature: forged AND expired reports bad_signature', `${gh}.${json(claims({ exp: now - 9999 }))}.${gs}`, 'bad_signature');
    add('bad_signature: forged AND wrong issuer reports bad_signature', `${gh}.${json(claims({ iss: 'https://evil.example' }))}.${gs}`, 'bad_signature');
  }

  // --- time ---------------------------------------------------------------
  add('expired: exp exactly at now - tolerance', await joseToken('k-ES256', claims({ exp: now - 30 })), 'expired');
  add('expired: long ago', await joseToken('k-RS256', claims({ exp: now - 86400 })), 'expired');
  add('expired: clockToleranceSec 0, exp = now', await joseToken('k-ES256', claims({ exp: now })), 'expired', { options: { clockToleranceSec: 0 } });
  add('expired: clockToleranceSec 120, exp = now - 120', await joseToken('k-ES256', claims({ exp: now - 120 })), 'expired', { options: { clockToleranceSec: 120 } });
  add('not_yet_valid: nbf one second past the tolerance', await joseToken('k-ES256', claims({ nbf: now + 31 })), 'not_yet_valid');
  add('not_yet_valid: clockToleranceSec 0, nbf = now + 1', await joseToken('k-ES256', claims({ nbf: now + 1 })), 'not_yet_valid', { options: { clockToleranceSec: 0 } });
  add('not_yet_valid: iat in the future past the tolerance', await joseToken('k-ES256', claims({ iat: now + 31 })), 'not_yet_valid', { jose: 'accepts' });

  // --- issuer / audience --------------------------------------------------
  add('issuer_mismatch: another issuer', await joseToken('k-ES256', claims({ iss: 'https://evil.example' })), 'issuer_mismatch');
  add('issuer_mismatch: trailing slash', await joseToken('k-ES256', claims({ iss: `${ISS}/` })), 'issuer_mismatch');
  add('issuer_mismatch: different case', await joseToken('k-ES256', claims({ iss: ISS.toUpperCase() })), 'issuer_mismatch');
  add('audience_mismatch: another audience', await joseToken('k-ES256', claims({ aud: 'ext-999' })), 'audience_mismatch');
  add('audience_mismatch: array without an accepted audience', await joseToken('k-ES256', claims({ aud: ['a', 'b'] })), 'audience_mismatch');
  add('audience_mismatch: empty array', await joseToken('k-ES256', claims({ aud: [] })), 'audience_mismatch');

  // --- claims -------------------------------------------------------------
  add('missing_claim: no exp', await joseToken('k-ES256', claims({ exp: undefined })), 'missing_claim');
  add('missing_claim: no iss', await joseToken('k-ES256', claims({ iss: undefined })), 'missing_claim');
  add('missing_claim: no aud while an audience is configured', await joseToken('k-ES256', claims({ aud: undefined })), 'missing_claim');
  add('missing_claim: requiredClaims sub absent', await joseToken('k-ES256', claims({ sub: undefined })), 'missing_claim', { options: { requiredClaims: ['sub'] } });
  add('invalid_claim: exp is a string', await joseToken('k-ES256', claims({ exp: String(now + 3600) })), 'invalid_claim');
  add('invalid_claim: exp is null', await joseToken('k-ES256', claims({ exp: null })), 'invalid_claim');
  add('invalid_claim: nbf is a string', await joseToken('k-ES256', claims({ nbf: 'yesterday' })), 'invalid_claim');
  add('invalid_claim: iat is a boolean', await joseToken('k-ES256', claims({ iat: true })), 'invalid_claim');
  add('invalid_claim: iss is a number', await joseToken('k-ES256', claims({ iss: 42 })), 'invalid_claim');
  add('invalid_claim: aud is a number', await joseToken('k-ES256', claims({ aud: 42 })), 'invalid_claim');
  add('invalid_claim: aud array with a number', await joseToken('k-ES256', claims({ aud: [AUD, 42] })), 'invalid_claim', { jose: 'accepts' });
  add('invalid_claim: sub is a number', await joseToken('k-ES256', claims({ sub: 7 })), 'invalid_claim', { jose: 'accepts' });

  // --- header rules -------------------------------------------------------
  add('typ_mismatch: JWT where at+jwt is required', await joseToken('k-ES256'), 'typ_mismatch', { options: { typ: 'at+jwt' } });
  add('typ_mismatch: no typ where at+jwt is required', craft(json({ alg: 'ES256', kid: 'k-ES256' }), json(claims()), 'k-ES256'), 'typ_mismatch', { options: { typ: 'at+jwt' } });
  add('crit_unsupported: crit ["exp"]', craft(hdr('k-ES256', { crit: ['exp'], exp: 1 }), json(claims()), 'k-ES256'), 'crit_unsupported');
  add('crit_unsupported: crit ["b64"] with b64 false', craft(hdr('k-ES256', { crit: ['b64'], b64: false }), json(claims()), 'k-ES256'), 'crit_unsupported');
  add('crit_unsupported: b64 false without crit', craft(hdr('k-ES256', { b64: false }), json(claims()), 'k-ES256'), 'crit_unsupported', { jose: 'accepts' });

  return { jwks, now, cases };
}

/**
 * What jose (jwtVerify + createLocalJWKSet) does with a case: resolves to
 * 'ok' or to the jose error code. Used by the differential test in Node.
 */
export async function joseVerdict(jose, jwks, now, c) {
  const o = c.options;
  const opts = {
    issuer: o.issuer,
    currentDate: new Date(now * 1000),
    clockTolerance: o.clockToleranceSec ?? 30,
    requiredClaims: ['exp', 'iss', ...(o.requiredClaims ?? [])],
  };
  if (o.audience !== null) opts.audience = o.audience;
  if (o.algorithms) opts.algorithms = o.algorithms;
  if (o.typ) opts.typ = o.typ;
  try {
    await jose.jwtVerify(c.token, jose.createLocalJWKSet(jwks), opts);
    return 'ok';
  } catch (e) {
    return e.code ?? String(e);
  }
}

/** What jose is expected to answer for a case: 'ok' or 'reject'. */
export function joseExpectation(c) {
  if (c.jose === 'accepts') return 'ok';
  if (c.jose === 'rejects') return 'reject';
  return c.expect === 'ok' ? 'ok' : 'reject';
}

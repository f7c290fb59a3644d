// A stand-in issuer for the recipes' failure tests, on 127.0.0.1: its discovery document
// (/.well-known/openid-configuration) names a controllable JWK Set server
// (tests/support/jwks-server.mjs) as `jwks_uri`, and `sign()` makes ES256 access tokens with the
// set's key (kid 'k1').
//
//   const idp = await startStubIssuer({ audience });
//   idp.issuer          // http://127.0.0.1:<port>
//   idp.jwks            // the JWK Set server: setStatus(404), setBody('<html>…'), hits(), …
//   await idp.sign({ audience })
//   await idp.close()
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { startJwksServer } from '../support/jwks-server.mjs';
import { listen, closeServer } from '../support/extension-site.mjs';

export async function startStubIssuer({ audience }) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = await startJwksServer({ jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] } });
  let issuer;
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      issuer, jwks_uri: jwks.url, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
    }));
  });
  issuer = `http://127.0.0.1:${await listen(server)}`;
  return {
    issuer,
    jwks,
    sign: ({ audience: aud = audience, key = privateKey } = {}) => new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime('5m')
      .sign(key),
    async close() {
      await closeServer(server);
      await jwks.close();
    },
  };
}

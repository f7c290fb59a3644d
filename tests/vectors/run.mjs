// Runs the shared vector suite (tests/vectors/make.mjs) against a
// JwksVerifier class, in any runtime: Node, workerd, browsers. No Node APIs.
//
//   const results = await runVectors(JwksVerifier, vectors);
//   // [{ name, expect, got }]: got is 'ok', an error .code, or a string
//   // describing what was wrong with the outcome itself.
//
// Beyond the code, every outcome is checked for its shape: an accepted token
// resolves to the payload object (its `iss` one of the accepted issuers);
// a rejection is an Error named ExtensionSsoError with a boolean
// `retryable`, and its message never echoes the token.

export async function runVectors(JwksVerifier, vectors) {
  const verifiers = new Map();
  const results = [];
  for (const c of vectors.cases) {
    const key = JSON.stringify(c.options);
    let verifier = verifiers.get(key);
    if (!verifier) {
      verifier = JwksVerifier.fromJwks(vectors.jwks, { ...c.options, now: vectors.now });
      verifiers.set(key, verifier);
    }
    results.push({ name: c.name, expect: c.expect, got: await outcome(verifier, c) });
  }
  return results;
}

async function outcome(verifier, c) {
  let claims;
  try {
    claims = await verifier.verify(c.token);
  } catch (e) {
    if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
    if (e.name !== 'ExtensionSsoError') return `error named ${e.name}: ${e.message}`;
    if (typeof e.code !== 'string') return `error without a code: ${e.message}`;
    if (typeof e.retryable !== 'boolean') return `error ${e.code} without a boolean retryable`;
    if (typeof c.token === 'string' && c.token.length > 16 && e.message.includes(c.token)) {
      return `error ${e.code} echoes the token`;
    }
    return e.code;
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return 'resolved to a non-object';
  const issuers = [].concat(c.options.issuer);
  if (!issuers.includes(claims.iss)) return `resolved with iss ${JSON.stringify(claims.iss)}`;
  return 'ok';
}

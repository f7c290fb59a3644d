// The built package (pkg/) under Node: entries, error codes, no manual init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as root from 'extension-sso';
import * as verifier from 'extension-sso/verifier';
import * as client from 'extension-sso/client';
import * as server from 'extension-sso/server';

test('every entry loads without manual init and reports the same codes', () => {
  const codes = root.errorCodes();
  for (const m of [verifier, client, server]) assert.deepEqual(m.errorCodes(), codes);
  assert.equal(new Set(codes).size, codes.length);
});

test('the TypeScript ErrorCode union lists exactly the runtime codes', () => {
  const dts = readFileSync(new URL('../../pkg/errors.d.ts', import.meta.url), 'utf8');
  const union = [...dts.matchAll(/^\s*\| '([a-z_]+)'/gm)].map((m) => m[1]);
  assert.deepEqual(union, root.errorCodes());
});

test('the package version is the crate version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.version, root.crateVersion());
});

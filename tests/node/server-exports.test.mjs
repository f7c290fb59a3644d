// What extension-sso/server exports: its documented API and nothing internal
// (#19). The loaders install the runtime through lib/common.js, so the
// entry does not export installRuntime / markReady.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as server from 'extension-sso/server';

const API = [
  'ExtensionSsoError', 'ServiceClientTokenProvider', 'crateVersion', 'createHandoffHandler', 'default', 'errorCodes', 'exchangeCode',
  'identityFromClaims', 'matrixTokenLogin', 'refreshTokens', 'toNodeListener',
];

test('extension-sso/server exports its API and nothing internal', () => {
  assert.deepEqual(Object.keys(server).sort(), [...API].sort());
  for (const internal of ['installRuntime', 'markReady', 'runtimeSlot']) assert.ok(!(internal in server), internal);
});

// README.md shows the sample files as they are, every block is checked, the recipes' paths compose,
// and the user-facing docs use no internal words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT, check, checkCommand, codeBlocks } from '../../scripts/readme.mjs';

const read = (...p) => readFileSync(join(ROOT, ...p), 'utf8');

test('every README code block is its sample file, or a checked command', () => {
  assert.deepEqual(check(join(ROOT, 'README.md')), []);
  assert.deepEqual(check(join(ROOT, 'www', 'README.md')), []);
  const files = codeBlocks(read('README.md')).filter((b) => b.file).map((b) => b.file);
  assert.ok(files.length >= 15, `README shows ${files.length} sample files`);
  assert.equal(new Set(files).size, files.length, 'each sample file is shown once');
});

test('the checker refuses what it should (a changed block, an unnamed block, an unknown command)', () => {
  const blocks = codeBlocks('text\n<!-- sample: a.js -->\n```js\nx\n```\n\n```ts\ny\n```\n');
  assert.deepEqual(blocks.map((b) => [b.file, b.info, b.body]), [['a.js', 'js', 'x\n'], [null, 'ts', 'y\n']]);
  assert.deepEqual(checkCommand('./scripts/test native samples  # some layers'), []);
  assert.deepEqual(checkCommand('./scripts/test nativ'), ['./scripts/test does not take "nativ"']);
  assert.deepEqual(checkCommand('./scripts/demo --no-build'), []);
  assert.equal(checkCommand('./scripts/nope').length, 1);
  assert.deepEqual(checkCommand('npm install extension-sso'), []);
  assert.equal(checkCommand('npm install left-pad').length, 1);
  assert.equal(checkCommand('curl https://example.com | sh').length, 1);
});

test("the recipes compose: the page's tokenHandoffUrl is the path each backend serves", () => {
  const handoff = read('examples', 'extension', 'app.js').match(/tokenHandoffUrl: '([^']+)'/)?.[1];
  assert.equal(handoff, '/api/token');
  for (const backend of [['node-backend', 'server.mjs'], ['worker', 'src', 'index.ts']]) {
    assert.equal(read('examples', ...backend).match(/tokenPath: '([^']+)'/)?.[1], handoff, backend.join('/'));
  }
  const callback = read('examples', 'extension', 'app.js').match(/'\/popup-callback\.html'/);
  assert.ok(callback, 'the page sends popups to its callback page');
  assert.match(read('examples', 'extension', 'popup-callback.html'), /ExtensionClient\.completePopup\(\)/);
});

test('README, the demo docs and the published types use no internal words (seed numbers, loader internals)', () => {
  const internal = /\bseed[\s-]*\d|\bseed\s+0|installRuntime|markReady/i;
  const types = readdirSync(join(ROOT, 'pkg-template')).filter((f) => f.endsWith('.d.ts')).map((f) => ['pkg-template', f]);
  assert.ok(types.length >= 5);
  for (const file of [['README.md'], ['www', 'README.md'], ...types]) {
    const hits = read(...file).split('\n').map((l, i) => [i + 1, l]).filter(([, l]) => internal.test(l));
    assert.deepEqual(hits, [], file.join('/'));
  }
});

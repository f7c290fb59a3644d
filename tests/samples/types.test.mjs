// README's TypeScript samples type-check as written against the packed tarball's types, with
// `tsc --strict` and no skipLibCheck, each with the libraries of the runtime it is for:
// - browser code (examples/client/): lib es2022 + dom;
// - server code (examples/server/, examples/verify/): lib es2022 + @types/node, no DOM;
// - the Worker (examples/worker/): its own tsconfig.json, with @cloudflare/workers-types.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createRequire } from 'node:module';
import { ROOT, samplesProject } from './project.mjs';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function tsc(project, tsconfig) {
  try {
    execFileSync(process.execPath, [TSC, '-p', tsconfig], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc -p ${tsconfig} reported errors:\n${e.stdout}${e.stderr}`);
  }
}

function tsconfig(project, name, { lib, types, include }) {
  writeFileSync(project.path(name), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib, types,
    },
    include,
  }));
  return name;
}

describe('README TypeScript samples (tsc --strict, no skipLibCheck)', () => {
  let project;
  before(async () => { project = await samplesProject(); });
  after(() => project?.close());

  test('browser samples with lib es2022 + dom', () => {
    tsc(project, tsconfig(project, 'tsconfig.browser.json', { lib: ['es2022', 'dom'], types: [], include: ['examples/client/*.ts'] }));
  });

  test('server samples with lib es2022 + @types/node, no DOM', () => {
    tsc(project, tsconfig(project, 'tsconfig.node.json', {
      lib: ['es2022'], types: ['node'], include: ['examples/server/*.ts', 'examples/verify/*.ts'],
    }));
  });

  test('the Worker with its own tsconfig.json (@cloudflare/workers-types)', () => {
    tsc(project, 'examples/worker/tsconfig.json');
  });

  test('every runtime export of every entry is declared in its types, and nothing else is exported', async () => {
    const ts = createRequire(import.meta.url)('typescript');
    for (const spec of ['extension-sso', 'extension-sso/client', 'extension-sso/verifier', 'extension-sso/server']) {
      const script = `import * as m from '${spec}'; console.log(JSON.stringify(Object.keys(m).sort()));`;
      const runtime = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project.dir, encoding: 'utf8' }));
      writeFileSync(project.path('exports.ts'), `export * as m from '${spec}';\n`);
      const program = ts.createProgram([project.path('exports.ts')], {
        strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
      });
      const checker = program.getTypeChecker();
      const [ns] = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(project.path('exports.ts'))));
      const target = (sym) => (sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym);
      const declared = checker.getExportsOfModule(target(ns))
        .filter((sym) => target(sym).flags & ts.SymbolFlags.Value) // functions, classes, consts: not types
        .map((sym) => String(sym.escapedName)).sort();
      assert.ok(declared.includes('errorCodes') && declared.includes('ExtensionSsoError'), `${spec}: ${declared}`);
      assert.deepEqual(runtime, declared, `${spec}: its runtime exports and the values its .d.ts declares`);
      for (const internal of ['installRuntime', 'markReady']) assert.ok(!runtime.includes(internal), `${spec} exports ${internal}`);
    }
  });
});

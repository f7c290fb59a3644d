// Bundles worker.js for workerd, as wrangler would: the package's `workerd` build, its .wasm files
// copied beside the bundle (dist/worker.js + dist/extension_sso_verifier_bg.wasm).
import * as esbuild from 'esbuild';

await esbuild.build({
  entryPoints: ['worker.js'],
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  loader: { '.wasm': 'copy' }, // stays an import: workerd loads it as a WebAssembly module
  assetNames: '[name]',
});

// extension-sso/verifier: JS layer over the wasm core (filled in by its issue).
import { runtimeSlot } from './common.js';
import { crateVersion, errorCodes } from '../wasm/verifier/extension_sso_verifier.js';

const runtime = runtimeSlot('verifier');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { crateVersion, errorCodes };

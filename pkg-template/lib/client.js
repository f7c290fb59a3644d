// extension-sso/client: JS layer over the wasm core (filled in by its issue).
import { runtimeSlot } from './common.js';
import { crateVersion, errorCodes } from '../wasm/client/extension_sso_client.js';

const runtime = runtimeSlot('client');
/** @internal called by the loader */
export const installRuntime = runtime.install;
/** @internal called by the browser loader once the wasm is ready */
export const markReady = runtime.markReady;
export { crateVersion, errorCodes };

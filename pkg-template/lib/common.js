// Shared by every entry: the error shape and the runtime slot.

/**
 * Builds the same kind of error the wasm core throws: an `Error` named
 * `ExtensionSsoError` with a stable `.code` and a boolean `.retryable`.
 */
export function ssoError(code, message, extra = {}) {
  const err = new Error(message, extra.cause ? { cause: extra.cause } : undefined);
  err.name = 'ExtensionSsoError';
  err.code = code;
  err.retryable = extra.retryable === true;
  for (const [k, v] of Object.entries(extra)) {
    if (k !== 'cause' && k !== 'retryable' && v !== undefined) err[k] = v;
  }
  return err;
}

const slots = new Map();

/**
 * The runtime adapter (node or web) of `entry`: one slot per entry, shared
 * by its loader (which installs the adapter once the wasm is ready) and its
 * JS layer (which reads it). Internal: no entry exports it.
 */
export function runtimeSlot(entry) {
  let slot = slots.get(entry);
  if (slot) return slot;
  let runtime = null;
  let ready = false;
  slot = {
    install(rt) { runtime = rt; ready = true; },
    markReady() { ready = true; },
    get() {
      if (!ready || !runtime) {
        throw ssoError('invalid_options',
          `extension-sso/${entry} is not initialised: in a browser, call and await the default export init() first`);
      }
      return runtime;
    },
  };
  slots.set(entry, slot);
  return slot;
}

/**
 * Reads a body (a Response or a Request), stopping after `cap` + 1 bytes: a
 * body over the cap comes back as `cap + 1` zero bytes, for the wasm core
 * to reject with its own message.
 */
export async function readCapped(message, cap) {
  const declared = Number(message.headers.get('content-length'));
  if (declared > cap) {
    await message.body?.cancel().catch(() => {});
    return new Uint8Array(cap + 1);
  }
  if (!message.body) return new Uint8Array(await message.arrayBuffer());
  const reader = message.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return new Uint8Array(cap + 1);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

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

/** Holds the runtime adapter (node or web) the loader installs. */
export function runtimeSlot(entry) {
  let runtime = null;
  let ready = false;
  return {
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
}

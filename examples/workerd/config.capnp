# workerd serve config.capnp   (after `node build.mjs`; ISSUER, AUDIENCE and JWKS_URI in the environment)
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .api),
    # Outbound fetches (the key set): public addresses, and this machine for local development.
    (name = "internet", network = (allow = ["public", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [ (name = "http", address = "*:8080", http = (), service = "main") ],
);

const api :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    (name = "extension_sso_verifier_bg.wasm", wasm = embed "dist/extension_sso_verifier_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "ISSUER", fromEnvironment = "ISSUER"),
    (name = "AUDIENCE", fromEnvironment = "AUDIENCE"),
    (name = "JWKS_URI", fromEnvironment = "JWKS_URI"),
  ],
);

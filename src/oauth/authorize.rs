//! Starting a flow: create and store its record, then build the URL the
//! browser navigates to (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect
//! Core §3.1.2.1, and each profile's own authorization request).

use super::callback::NONCE_PARAM;
use super::config::{Config, IssPolicy, ProfileKind};
use super::flow::{self, flow_key, FlowRecord, Flows};
use super::pkce::{check_pkce_pair, new_state, new_verifier, s256_challenge};
use super::secret::State;
use crate::platform::Random;
use crate::prelude::*;
use crate::protocol::form;
use crate::protocol::url::{append_query, encode_path_segment, split, trim_trailing_slashes};
use crate::{Error, ErrorCode, Result};

/// A started flow: where to navigate, and the value that binds the callback.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The URL to navigate to (the authorization request).
    pub url: String,
    /// The flow's `state` (oauth2, mia-console) or nonce (matrix,
    /// mia-auth-service): the popup-mode message check compares against it.
    pub state: State,
}

/// True when `scope` holds the `openid` scope token (OIDC Core §3.1.2.1):
/// the request is an OpenID Connect one and carries a `nonce`.
pub(crate) fn is_openid(scope: Option<&str>) -> bool {
    scope.is_some_and(|s| s.split(' ').any(|token| token == "openid"))
}

/// Starts a flow: sweeps stale records from `flows`, stores a new record
/// and returns the authorization URL. For oauth2 with PKCE the stored
/// verifier is read back and checked against the URL's `code_challenge`
/// before the URL is returned.
pub fn start_flow(
    flows: &mut Flows,
    now: u64,
    random: &dyn Random,
    config: &Config,
) -> Result<AuthorizationRequest> {
    flow::sweep(flows, now, config.state_ttl_sec);
    let state = new_state(random)?;
    let mut record = FlowRecord::new(config.kind, now);
    record.redirect_uri = config.redirect().map(str::to_owned);
    let text = |name: &str| config.get(name).unwrap_or_default();
    let url = match config.kind {
        ProfileKind::OAuth2 => {
            record.issuer = config.get("issuer").map(str::to_owned);
            if let Some(found) = &config.discovered {
                record.token_endpoint = found.token_endpoint.clone();
                record.require_iss = found.sends_iss && config.iss_policy != IssPolicy::Off;
            }
            let mut params: Vec<(&str, &str)> = vec![
                ("response_type", "code"),
                ("client_id", text("clientId")),
                ("redirect_uri", text("redirectUri")),
            ];
            if let Some(scope) = config.get("scope") {
                params.push(("scope", scope));
            }
            params.push(("state", state.expose_secret()));
            let challenge;
            if config.use_pkce {
                let verifier = new_verifier(random)?;
                challenge = s256_challenge(&verifier);
                record.code_verifier = Some(verifier);
                params.push(("code_challenge", &challenge));
                params.push(("code_challenge_method", "S256"));
            }
            if is_openid(config.get("scope")) {
                record.nonce = Some(new_verifier(random)?);
            }
            if let Some(nonce) = &record.nonce {
                params.push(("nonce", nonce));
            }
            params.extend(config.extra_params());
            append_query(config.authorization_endpoint().unwrap_or_default(), &params)
        }
        ProfileKind::MiaConsole => msg!(
            trim_trailing_slashes(text("consoleUrl")),
            "/tenants/",
            encode_path_segment(text("tenantId")),
            "/extension/",
            encode_path_segment(text("extensionId")),
            "/authz?state=",
            state.expose_secret()
        ),
        ProfileKind::Matrix => {
            let back = append_query(text("redirectUri"), &[(NONCE_PARAM, state.expose_secret())]);
            let mut url = msg!(
                trim_trailing_slashes(text("homeserverUrl")),
                "/_matrix/client/v3/login/sso/redirect"
            );
            if let Some(idp) = config.get("idpId") {
                url.push('/');
                url.push_str(&encode_path_segment(idp));
            }
            append_query(&url, &[("redirectUrl", &back)])
        }
        ProfileKind::MiaAuthService => {
            let back = append_query(text("redirect"), &[(NONCE_PARAM, state.expose_secret())]);
            append_query(
                &msg!(trim_trailing_slashes(text("authServiceUrl")), "/authorize"),
                &[
                    ("appId", text("appId")),
                    ("providerId", text("providerId")),
                    ("redirect", &back),
                ],
            )
        }
    };
    flow::store(flows, &state, &record)?;
    if record.code_verifier.is_some() {
        self_check_pkce(flows, &state, &url)?;
    }
    Ok(AuthorizationRequest { url, state })
}

/// Reads the stored verifier back and checks the URL's `code_challenge`
/// against it (a peer SDK once shipped `code_challenge=undefined`); on
/// failure the record is removed and nothing navigates.
fn self_check_pkce(flows: &mut Flows, state: &State, url: &str) -> Result<()> {
    let key = flow_key(state);
    let stored = flows
        .get(&key)
        .and_then(FlowRecord::parse)
        .and_then(|r| r.code_verifier);
    let query = split(url).query.unwrap_or_default();
    let challenges: Vec<String> = form::pairs(query)
        .filter(|(_, name, _)| name.as_deref() == Some("code_challenge"))
        .filter_map(|(_, _, value)| value)
        .collect();
    let result = match (stored, challenges.as_slice()) {
        (Some(verifier), [challenge]) => check_pkce_pair(&verifier, challenge),
        _ => Err(Error::new(
            ErrorCode::Unsupported,
            "refusing to navigate: the PKCE verifier was not stored or the URL lacks exactly one code_challenge",
        )),
    };
    if result.is_err() {
        flows.remove(&key);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::test_support::{config, SeqRandom, OAUTH2};

    // SeqRandom's first 32 bytes are 0..=31, the next 32..=63.
    const STATE_0: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const VERIFIER_1: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
    const NONCE_2: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8";

    fn start(config: &Config) -> (AuthorizationRequest, Flows) {
        let mut flows = Flows::default();
        let req = start_flow(&mut flows, 1000, &SeqRandom::default(), config).unwrap();
        (req, flows)
    }

    #[test]
    fn oauth2_url_exact() {
        let c = config(&OAUTH2.replace(
            "\"profile\"",
            r#""authorizationEndpoint":"https://as.example/authorize?tenant=a%20b","scope":"openid profile","issuer":"https://as.example","extraParams":{"prompt":"consent"},"profile""#,
        ).replacen(r#""authorizationEndpoint":"https://as.example/authorize","#, "", 1));
        let (req, flows) = start(&c);
        let challenge = s256_challenge(VERIFIER_1);
        assert_eq!(
            req.url,
            format!(
                "https://as.example/authorize?tenant=a%20b&response_type=code&client_id=client-1\
                 &redirect_uri=https%3A%2F%2Fext.example%2Fcallback&scope=openid+profile&state={STATE_0}\
                 &code_challenge={challenge}&code_challenge_method=S256&nonce={NONCE_2}&prompt=consent"
            )
        );
        assert_eq!(req.state.expose_secret(), STATE_0);
        let record = FlowRecord::parse(flows.get(&flow_key(&req.state)).unwrap()).unwrap();
        assert_eq!(record.code_verifier.as_deref(), Some(VERIFIER_1));
        assert_eq!(record.nonce.as_deref(), Some(NONCE_2));
        assert_eq!(record.created_at, 1000);
        assert_eq!(record.issuer.as_deref(), Some("https://as.example"));
        // No openid scope: no nonce.
        let (req, _) = start(&config(OAUTH2));
        assert!(!req.url.contains("nonce="));
    }

    #[test]
    fn mia_console_url_exact() {
        let c = config(
            r#"{"profile":"mia-console","consoleUrl":"https://console.example.com/","tenantId":"acme/co","extensionId":"ext 1","tokenHandoffUrl":"/api/token"}"#,
        );
        assert_eq!(
            start(&c).0.url,
            format!("https://console.example.com/tenants/acme%2Fco/extension/ext%201/authz?state={STATE_0}")
        );
    }

    #[test]
    fn matrix_url_exact_with_nonce() {
        let c = config(
            r#"{"profile":"matrix","homeserverUrl":"https://matrix.example.org","idpId":"oidc-github","redirectUri":"https://ext.example/cb?tab=chat"}"#,
        );
        assert_eq!(
            start(&c).0.url,
            format!(
                "https://matrix.example.org/_matrix/client/v3/login/sso/redirect/oidc-github\
                 ?redirectUrl=https%3A%2F%2Fext.example%2Fcb%3Ftab%3Dchat%26ext_sso_nonce%3D{STATE_0}"
            )
        );
        let c = config(
            r#"{"profile":"matrix","homeserverUrl":"https://matrix.example.org","redirectUri":"https://ext.example/cb"}"#,
        );
        assert!(start(&c).0.url.starts_with(
            "https://matrix.example.org/_matrix/client/v3/login/sso/redirect?redirectUrl="
        ));
    }

    #[test]
    fn auth_service_url_exact_with_nonce() {
        let c = config(
            r#"{"profile":"mia-auth-service","authServiceUrl":"https://app.example/auth/","appId":"my app","providerId":"keycloak","redirect":"/home"}"#,
        );
        assert_eq!(
            start(&c).0.url,
            format!(
                "https://app.example/auth/authorize?appId=my+app&providerId=keycloak\
                 &redirect=%2Fhome%3Fext_sso_nonce%3D{STATE_0}"
            )
        );
    }

    #[test]
    fn without_pkce_no_challenge_is_sent() {
        let c = config(&OAUTH2.replace("\"profile\"", "\"usePkce\":false,\"profile\""));
        assert!(!start(&c).0.url.contains("code_challenge"));
    }

    #[test]
    fn parallel_flows_and_a_broken_random_source() {
        let mut flows = Flows::default();
        let random = SeqRandom::default();
        let a = start_flow(&mut flows, 1, &random, &config(OAUTH2)).unwrap();
        let b = start_flow(&mut flows, 2, &random, &config(OAUTH2)).unwrap();
        assert_ne!(a.state.expose_secret(), b.state.expose_secret());
        assert!(
            flows.get(&flow_key(&a.state)).is_some() && flows.get(&flow_key(&b.state)).is_some()
        );
        // The same bytes again: the state collides, nothing is stored.
        let err = start_flow(&mut flows, 3, &SeqRandom::default(), &config(OAUTH2)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unsupported);
    }
}

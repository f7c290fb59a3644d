//! Starting a flow: create and store its record, then build the URL the
//! browser navigates to (RFC 6749 §4.1.1, RFC 7636 §4.3, and each profile's
//! own authorization request).

use super::config::{ClientConfig, ProfileConfig};
use super::flow::{self, FlowRecord};
use super::pkce::{check_pkce_pair, new_state, new_verifier, s256_challenge};
use super::secret::State;
use crate::platform::{Clock, Random, Storage};
use crate::prelude::*;
use crate::protocol::url::{
    append_query, encode_path_segment, encode_query_component, trim_trailing_slashes,
};
use crate::{Error, ErrorCode, Result};

/// Query parameter carrying our one-time nonce in the return URL of flows
/// that have no OAuth `state` of ours (Matrix SSO, the auth service).
pub const NONCE_PARAM: &str = "ext_sso_nonce";

/// A started flow: where to navigate, and the value that binds the callback.
/// `Debug` shows the URL without its query (which holds the `state`).
#[derive(Clone)]
pub struct AuthorizationRequest {
    /// The URL to navigate to (the authorization request).
    pub url: String,
    /// The flow's `state` (oauth2, mia-console) or nonce (matrix,
    /// mia-auth-service): the popup-mode message check compares against it.
    pub state: State,
}

impl core::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field(
                "url",
                &format_args!("{}?[redacted]", crate::protocol::url::split(&self.url).base),
            )
            .field("state", &self.state)
            .finish()
    }
}

/// Starts a flow: validates `config`, sweeps stale records, stores a new
/// record in `storage` (read back to prove it is usable) and returns the
/// authorization URL. For oauth2 with PKCE the stored verifier is read back
/// and checked against the URL's `code_challenge` before returning.
///
/// `storage` must be `sessionStorage` or memory, never `localStorage`.
pub fn start_flow(
    storage: &dyn Storage,
    clock: &dyn Clock,
    random: &dyn Random,
    config: &ClientConfig,
) -> Result<AuthorizationRequest> {
    config.validate()?;
    let now = clock.now_sec();
    flow::sweep(storage, now, config.state_ttl_sec)?;
    let state = new_state(random)?;
    let mut record = FlowRecord::new(config.profile.kind(), now);
    let url = match &config.profile {
        ProfileConfig::OAuth2(p) => {
            record.redirect_uri = Some(p.redirect_uri.clone());
            record.issuer = p.issuer.clone();
            let mut params: Vec<(&str, &str)> = vec![
                ("response_type", "code"),
                ("client_id", &p.client_id),
                ("redirect_uri", &p.redirect_uri),
            ];
            if let Some(scope) = &p.scope {
                params.push(("scope", scope));
            }
            params.push(("state", state.expose_secret()));
            let challenge;
            if p.use_pkce {
                let verifier = new_verifier(random)?;
                challenge = s256_challenge(&verifier);
                record.code_verifier = Some(verifier);
                params.push(("code_challenge", &challenge));
                params.push(("code_challenge_method", "S256"));
            }
            for (name, value) in &p.extra_params {
                params.push((name, value));
            }
            append_query(&p.authorization_endpoint, &params)
        }
        ProfileConfig::MiaConsole(p) => format!(
            "{}/tenants/{}/extension/{}/authz?state={}",
            trim_trailing_slashes(&p.console_url),
            encode_path_segment(&p.tenant_id),
            encode_path_segment(&p.extension_id),
            encode_query_component(state.expose_secret()),
        ),
        ProfileConfig::Matrix(p) => {
            record.redirect_uri = Some(p.redirect_uri.clone());
            let return_url = append_query(&p.redirect_uri, &[(NONCE_PARAM, state.expose_secret())]);
            let mut url = format!(
                "{}/_matrix/client/v3/login/sso/redirect",
                trim_trailing_slashes(&p.homeserver_url)
            );
            if let Some(idp) = &p.idp_id {
                url.push('/');
                url.push_str(&encode_path_segment(idp));
            }
            append_query(&url, &[("redirectUrl", &return_url)])
        }
        ProfileConfig::MiaAuthService(p) => {
            record.redirect_uri = Some(p.redirect.clone());
            let redirect = append_query(&p.redirect, &[(NONCE_PARAM, state.expose_secret())]);
            append_query(
                &format!("{}/authorize", trim_trailing_slashes(&p.auth_service_url)),
                &[
                    ("appId", &p.app_id),
                    ("providerId", &p.provider_id),
                    ("redirect", &redirect),
                ],
            )
        }
    };
    flow::store(storage, &state, &record)?;
    if let ProfileConfig::OAuth2(p) = &config.profile {
        if p.use_pkce {
            self_check_pkce(storage, &state, &url)?;
        }
    }
    Ok(AuthorizationRequest { url, state })
}

/// Reads the stored verifier back and checks the URL's `code_challenge`
/// against it; on failure the record is removed and nothing navigates.
fn self_check_pkce(storage: &dyn Storage, state: &State, url: &str) -> Result<()> {
    let key = flow::flow_key(state);
    let stored = storage
        .get(&key)
        .ok()
        .flatten()
        .and_then(|text| FlowRecord::parse(&text))
        .and_then(|r| r.code_verifier);
    let query = crate::protocol::url::split(url).query.unwrap_or("");
    let challenges: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "code_challenge")
        .map(|(_, value)| value.into_owned())
        .collect();
    let result = match (stored, challenges.as_slice()) {
        (Some(verifier), [challenge]) => check_pkce_pair(&verifier, challenge),
        _ => Err(Error::new(
            ErrorCode::Unsupported,
            "refusing to navigate: the PKCE verifier was not stored or the URL lacks exactly one code_challenge",
        )),
    };
    if result.is_err() {
        let _ = storage.remove(&key);
    }
    result
}

/// `GET {homeserverUrl}/_matrix/client/v3/login`: the request whose answer
/// [`super::matrix::check_login_flows`] checks before a Matrix flow starts.
pub fn matrix_login_flows_url(homeserver_url: &str) -> String {
    format!(
        "{}/_matrix/client/v3/login",
        trim_trailing_slashes(homeserver_url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::config::*;
    use crate::oauth::test_support::{oauth2_config, SeqRandom};
    use crate::platform::{FixedClock, MemoryStorage};

    // SeqRandom's first 32 bytes are 0..=31, the next 32..=63.
    const STATE_0: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const VERIFIER_1: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

    #[test]
    fn oauth2_url_exact() {
        let s = MemoryStorage::default();
        let mut config = oauth2_config();
        if let ProfileConfig::OAuth2(p) = &mut config.profile {
            p.authorization_endpoint = "https://as.example/authorize?tenant=a%20b".into();
            p.scope = Some("openid profile".into());
            p.extra_params = vec![("prompt".into(), "consent".into())];
        }
        let req = start_flow(&s, &FixedClock(1000), &SeqRandom::default(), &config).unwrap();
        let challenge = s256_challenge(&crate::oauth::secret::PkceVerifier::new(VERIFIER_1));
        assert_eq!(
            req.url,
            format!(
                "https://as.example/authorize?tenant=a%20b&response_type=code&client_id=client-1\
                 &redirect_uri=https%3A%2F%2Fext.example%2Fcallback&scope=openid+profile&state={STATE_0}\
                 &code_challenge={challenge}&code_challenge_method=S256&prompt=consent"
            )
        );
        assert_eq!(req.state.expose_secret(), STATE_0);
        let debug = format!("{req:?}");
        assert!(
            !debug.contains(STATE_0) && debug.contains("https://as.example/authorize?[redacted]")
        );
        let record =
            FlowRecord::parse(&s.get(&flow::flow_key(&req.state)).unwrap().unwrap()).unwrap();
        assert_eq!(record.code_verifier.unwrap().expose_secret(), VERIFIER_1);
        assert_eq!(record.created_at, 1000);
        assert_eq!(record.issuer.as_deref(), Some("https://as.example"));
    }

    #[test]
    fn mia_console_url_exact() {
        let mut config = ClientConfig::new(ProfileConfig::MiaConsole(MiaConsoleProfile {
            console_url: "https://console.example.com/".into(),
            tenant_id: "acme/co".into(),
            extension_id: "ext 1".into(),
        }));
        config.token_handoff_url = Some("/api/token".into());
        let req = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &config,
        )
        .unwrap();
        assert_eq!(
            req.url,
            format!("https://console.example.com/tenants/acme%2Fco/extension/ext%201/authz?state={STATE_0}")
        );
    }

    #[test]
    fn matrix_url_exact_with_nonce() {
        let config = ClientConfig::new(ProfileConfig::Matrix(MatrixProfile {
            homeserver_url: "https://matrix.example.org".into(),
            idp_id: Some("oidc-github".into()),
            redirect_uri: "https://ext.example/cb?tab=chat".into(),
        }));
        let req = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &config,
        )
        .unwrap();
        assert_eq!(
            req.url,
            format!(
                "https://matrix.example.org/_matrix/client/v3/login/sso/redirect/oidc-github\
                 ?redirectUrl=https%3A%2F%2Fext.example%2Fcb%3Ftab%3Dchat%26ext_sso_nonce%3D{STATE_0}"
            )
        );
        let mut no_idp = config.clone();
        if let ProfileConfig::Matrix(p) = &mut no_idp.profile {
            p.idp_id = None;
        }
        let req = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &no_idp,
        )
        .unwrap();
        assert!(req.url.starts_with(
            "https://matrix.example.org/_matrix/client/v3/login/sso/redirect?redirectUrl="
        ));
        assert_eq!(
            matrix_login_flows_url("https://m.example/"),
            "https://m.example/_matrix/client/v3/login"
        );
    }

    #[test]
    fn auth_service_url_exact_with_nonce() {
        let config = ClientConfig::new(ProfileConfig::MiaAuthService(AuthServiceProfile {
            auth_service_url: "https://app.example/auth/".into(),
            app_id: "my app".into(),
            provider_id: "keycloak".into(),
            redirect: "/home".into(),
        }));
        let req = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &config,
        )
        .unwrap();
        assert_eq!(
            req.url,
            format!(
                "https://app.example/auth/authorize?appId=my+app&providerId=keycloak\
                 &redirect=%2Fhome%3Fext_sso_nonce%3D{STATE_0}"
            )
        );
    }

    #[test]
    fn without_pkce_no_challenge_is_sent() {
        let mut config = oauth2_config();
        if let ProfileConfig::OAuth2(p) = &mut config.profile {
            p.use_pkce = false;
        }
        let req = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &config,
        )
        .unwrap();
        assert!(!req.url.contains("code_challenge"));
    }

    #[test]
    fn invalid_config_and_broken_storage_fail_before_a_url_exists() {
        let mut config = oauth2_config();
        config.state_ttl_sec = 1;
        let err = start_flow(
            &MemoryStorage::default(),
            &FixedClock(1),
            &SeqRandom::default(),
            &config,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
        let err = start_flow(
            &crate::oauth::test_support::BlockedStorage,
            &FixedClock(1),
            &SeqRandom::default(),
            &oauth2_config(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateStorageUnavailable);
        let err = start_flow(
            &crate::oauth::test_support::DroppingStorage,
            &FixedClock(1),
            &SeqRandom::default(),
            &oauth2_config(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::StateStorageUnavailable);
    }

    #[test]
    fn parallel_flows_do_not_overwrite_each_other() {
        let s = MemoryStorage::default();
        let random = SeqRandom::default();
        let a = start_flow(&s, &FixedClock(1), &random, &oauth2_config()).unwrap();
        let b = start_flow(&s, &FixedClock(2), &random, &oauth2_config()).unwrap();
        assert_ne!(a.state.expose_secret(), b.state.expose_secret());
        assert!(s.get(&flow::flow_key(&a.state)).unwrap().is_some());
        assert!(s.get(&flow::flow_key(&b.state)).unwrap().is_some());
    }
}

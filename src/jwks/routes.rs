//! Issuer routing: pick the key set (and audience) from the token's `iss`
//! before any network call, and never fetch for an unknown issuer.

use crate::jose::{decode_payload, issuer, Audience, VerifyOptions};
use crate::prelude::*;
use crate::{Error, ErrorCode, Result};

/// Reads `iss` from a token's payload without verifying anything else
/// (RFC 7519 §4.1.1). Only for routing: the token is verified afterwards
/// with the options of the route, which check `iss` again.
///
/// Errors: `malformed` (not a compact JWS of at most
/// [`crate::jose::MAX_TOKEN_LENGTH`] bytes, payload not a base64url JSON
/// object), `missing_claim` (no `iss`), `invalid_claim` (`iss` not a string).
pub fn peek_issuer(token: &str) -> Result<String> {
    issuer(&decode_payload(token)?, ROUTING).map(str::to_owned)
}

/// Why routing needs `iss` (said by its `missing_claim`).
pub(crate) const ROUTING: &str = "it is needed to choose the key set";

/// Where an issuer's keys come from and which audience its tokens need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRoute {
    /// Identifier of the key source (a `jwksUri`, or a name the caller
    /// gave an inline JWK Set).
    pub source: String,
    /// The audience tokens of this issuer must carry.
    pub audience: Audience,
}

impl IssuerRoute {
    /// Verification options for this route: `iss` must be `issuer`, `aud`
    /// the route's audience; the caller may refine them (algorithms, typ).
    pub fn verify_options(&self, issuer: &str) -> Result<VerifyOptions> {
        VerifyOptions::new([issuer], self.audience.clone())
    }
}

/// A map issuer -> [`IssuerRoute`], matched exactly (RFC 7519 §4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuerRoutes {
    routes: Vec<(String, IssuerRoute)>,
}

impl IssuerRoutes {
    /// No routes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route. `invalid_options` for an empty issuer or source, an
    /// empty audience list, or an issuer already routed.
    pub fn add(
        &mut self,
        issuer: impl Into<String>,
        source: impl Into<String>,
        audience: Audience,
    ) -> Result<()> {
        let issuer = issuer.into();
        let source = source.into();
        if issuer.is_empty() || source.is_empty() {
            return Err(Error::options(
                "an issuer route needs a non-empty issuer and key source",
            ));
        }
        // Validates the audience the same way the verifier will.
        VerifyOptions::new([issuer.as_str()], audience.clone())?;
        if self.get(&issuer).is_some() {
            return Err(Error::options(msg!(
                "issuer ",
                crate::jose::quoted(&issuer),
                " is routed twice; list each issuer once"
            )));
        }
        self.routes.push((issuer, IssuerRoute { source, audience }));
        Ok(())
    }

    /// The route of `issuer`, if any.
    pub fn get(&self, issuer: &str) -> Option<&IssuerRoute> {
        self.routes
            .iter()
            .find(|(i, _)| i == issuer)
            .map(|(_, r)| r)
    }

    /// The routed issuers, in insertion order.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|(i, _)| i.as_str())
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no route was added.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Routes a token by its (unverified) `iss`: returns the issuer and its
    /// route, or `issuer_mismatch` for an issuer with no route, so no key
    /// set is ever fetched for it. Token errors as in [`peek_issuer`].
    pub fn route(&self, token: &str) -> Result<(String, &IssuerRoute)> {
        let issuer = peek_issuer(token)?;
        match self.get(&issuer) {
            Some(route) => Ok((issuer, route)),
            None => Err(Error::new(
                ErrorCode::IssuerMismatch,
                msg!(
                    "the token issuer is not one of the ",
                    self.routes.len(),
                    " configured issuers"
                ),
            )),
        }
    }
}

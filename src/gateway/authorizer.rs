//! The COGNITO_USER_POOLS authorizer's check of a token, as API Gateway documents it
//! ("Integrate a REST API with an Amazon Cognito user pool"; Cognito's "Verifying a JSON
//! Web Token"): an RS256 JWT whose signature verifies against a key of the pool's JWKS
//! (matched by `kid`), whose `iss` is the pool, which has not expired, and which was issued
//! to one of the pool's app clients. A method with authorization scopes takes only access
//! tokens (`token_use` `access`) carrying at least one of its scopes; a method without
//! scopes takes only ID tokens. Signature verification is jsonwebtoken's (aws-lc-rs
//! backend); the claims are read here, strictly, with the clock passed in. Every refusal
//! is the same 401 Unauthorized to the caller; [`Rejection`] says why, for the log.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// What one user pool (or the local issuer) accepts.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`, or the local issuer's URL.
    pub issuer: String,
    pub keys: JwkSet,
    /// App client ids whose tokens are accepted; empty: any client of the pool.
    pub client_ids: Vec<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no token in the {0} header")]
    Missing(String),
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("signed with {0:?}, not RS256")]
    Algorithm(String),
    #[error("no key {0:?} in the pool's JWKS")]
    UnknownKey(String),
    #[error("the signature does not verify: {0}")]
    Signature(String),
    #[error("issued by {0:?}, not this pool")]
    Issuer(String),
    #[error("token_use is {found:?}; this method takes {wanted} tokens")]
    TokenUse { found: String, wanted: &'static str },
    #[error("expired at {exp} (now {now})")]
    Expired { exp: u64, now: u64 },
    #[error("issued to client {0:?}, not one of the pool's")]
    Client(String),
    #[error("carries none of the method's scopes {wanted:?} (has {found:?})")]
    Scope { wanted: Vec<String>, found: String },
}

/// The claims of an accepted token that a caller may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub client_id: String,
    pub scope: String,
    pub exp: u64,
}

impl Verifier {
    /// Check `header_value` (the identity source header, with or without `Bearer `) for a
    /// method requiring `scopes`, at unix time `now`.
    pub fn verify(
        &self,
        header_value: &str,
        scopes: &[String],
        now: u64,
    ) -> Result<Accepted, Rejection> {
        let token = header_value.trim();
        let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Rejection::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Rejection::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.unwrap_or_default();
        let jwk = self
            .keys
            .find(&kid)
            .ok_or_else(|| Rejection::UnknownKey(kid.clone()))?;
        let key =
            DecodingKey::from_jwk(jwk).map_err(|e| Rejection::UnknownKey(format!("{kid}: {e}")))?;
        // jsonwebtoken checks the signature only; the claims are checked below, with the
        // clock the caller passes and without leeway.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| Rejection::Signature(e.to_string()))?;
        let claims = data.claims;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let iss = text("iss");
        if iss != self.issuer {
            return Err(Rejection::Issuer(iss));
        }
        let wanted = if scopes.is_empty() { "id" } else { "access" };
        let token_use = text("token_use");
        if token_use != wanted {
            return Err(Rejection::TokenUse {
                found: token_use,
                wanted,
            });
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or_else(|| Rejection::Malformed("no numeric exp claim".into()))?;
        if now >= exp {
            return Err(Rejection::Expired { exp, now });
        }
        let client_id = if wanted == "access" {
            text("client_id")
        } else {
            text("aud")
        };
        if !self.client_ids.is_empty() && !self.client_ids.contains(&client_id) {
            return Err(Rejection::Client(client_id));
        }
        let scope = text("scope");
        if !scopes.is_empty() && !scope.split(' ').any(|s| scopes.iter().any(|w| w == s)) {
            return Err(Rejection::Scope {
                wanted: scopes.to_vec(),
                found: scope,
            });
        }
        Ok(Accepted {
            client_id,
            scope,
            exp,
        })
    }
}

/// The issuer string of a Cognito user pool.
pub fn cognito_issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

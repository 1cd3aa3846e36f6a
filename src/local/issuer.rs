//! The local token issuer that `local serve --env ENV` runs when the env's Cognito pool is
//! not what it checks against (offline, and for the emulator env, whose emulator has no
//! Cognito domain): Cognito's shape on 127.0.0.1. `POST /oauth2/token` answers the OAuth2
//! client-credentials grant (client id and secret in HTTP Basic or in the form, `scope`
//! optional) with an RS256 access token carrying Cognito's claims (`iss`, `token_use`
//! `access`, `client_id`, `scope`, `exp`, ...); `GET /.well-known/jwks.json` serves the
//! public key. The RSA key (2048 bit, aws-lc-rs) is made per run and never written
//! anywhere. Must not verify tokens (that is `gateway::authorizer`) nor serve the API.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};

use crate::gateway::authorizer::Verifier;

/// Path of the token endpoint (Cognito's).
pub const TOKEN_PATH: &str = "/oauth2/token";
/// Path of the key set (Cognito's, under the issuer).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The longest token lifetime the issuer gives (the longest Cognito allows: one day).
pub const MAX_LIFETIME_S: u64 = 86_400;

/// The issuer of one local serve run.
pub struct LocalIssuer {
    key: KeyPair,
    kid: String,
    jwks: JwkSet,
    /// The `iss` of its tokens: its own base URL.
    pub issuer: String,
    /// The one app client, id and secret made per run.
    pub client_id: String,
    pub client_secret: String,
    /// Scopes the client may ask for; the first ones are what the API's methods accept.
    pub allowed_scopes: Vec<String>,
    /// Lifetime of a token when the request does not ask for a shorter one.
    pub lifetime_s: u64,
}

impl LocalIssuer {
    /// A new key and client for an issuer answering at `issuer` (`http://127.0.0.1:PORT`).
    pub fn new(
        issuer: String,
        allowed_scopes: Vec<String>,
        lifetime_s: u64,
    ) -> anyhow::Result<LocalIssuer> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("generating the local issuer's RSA key failed"))?;
        let public = key.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let kid = crate::digest::sha256_hex(format!("{n}.{e}"))[..16].to_owned();
        let jwks: JwkSet = serde_json::from_value(json!({
            "keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e}]
        }))
        .context("building the local issuer's JWKS")?;
        Ok(LocalIssuer {
            key,
            kid,
            jwks,
            issuer,
            client_id: random_token(13)?,
            client_secret: random_token(32)?,
            allowed_scopes,
            lifetime_s: lifetime_s.clamp(1, MAX_LIFETIME_S),
        })
    }

    /// The public keys, as `GET /.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// What the authorizer of local serve accepts: this issuer's tokens, for its client.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            issuer: self.issuer.clone(),
            keys: self.jwks.clone(),
            client_ids: vec![self.client_id.clone()],
        }
    }

    /// An access token for the client with `scopes`, valid for `lifetime_s` from `now`.
    pub fn mint(&self, scopes: &[String], lifetime_s: u64, now: u64) -> anyhow::Result<String> {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let claims = json!({
            "iss": self.issuer,
            "sub": self.client_id,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": scopes.join(" "),
            "auth_time": now,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": random_token(16)?,
            "version": 2,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("signing a local token failed"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The issuer's HTTP routes (token endpoint and JWKS).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(TOKEN_PATH, post(token))
            .route(JWKS_PATH, get(jwks))
            .with_state(self)
    }

    /// Answer one token request: the grant's form body and the request's headers.
    pub fn grant(
        &self,
        headers: &HeaderMap,
        form: &[u8],
        now: u64,
    ) -> Result<Value, (StatusCode, &'static str)> {
        let fields: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if field("grant_type") != Some("client_credentials") {
            return Err((StatusCode::BAD_REQUEST, "unsupported_grant_type"));
        }
        let (id, secret) = match basic_credentials(headers) {
            Some(pair) => pair,
            None => (
                field("client_id").unwrap_or("").to_owned(),
                field("client_secret").unwrap_or("").to_owned(),
            ),
        };
        if id != self.client_id
            || !constant_time_eq(secret.as_bytes(), self.client_secret.as_bytes())
        {
            return Err((StatusCode::UNAUTHORIZED, "invalid_client"));
        }
        let scopes: Vec<String> = match field("scope").map(str::trim) {
            None | Some("") => self.allowed_scopes.clone(),
            Some(asked) => asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if scopes.iter().any(|s| !self.allowed_scopes.contains(s)) {
            return Err((StatusCode::BAD_REQUEST, "invalid_scope"));
        }
        // Not in Cognito's token endpoint: a shorter lifetime, so a client can watch its
        // token expire (`irisctl smoke` does) without waiting an hour.
        let lifetime = match field("lifetime") {
            None => self.lifetime_s,
            Some(text) => match text.parse::<u64>() {
                Ok(s) if (1..=MAX_LIFETIME_S).contains(&s) => s,
                _ => return Err((StatusCode::BAD_REQUEST, "invalid_request")),
            },
        };
        let token = self
            .mint(&scopes, lifetime, now)
            .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "server_error"))?;
        Ok(json!({
            "access_token": token,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": scopes.join(" "),
        }))
    }
}

async fn token(
    State(issuer): State<Arc<LocalIssuer>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match issuer.grant(&headers, &body, unix_now()) {
        Ok(answer) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response(),
        Err((status, error)) => (status, axum::Json(json!({ "error": error }))).into_response(),
    }
}

async fn jwks(State(issuer): State<Arc<LocalIssuer>>) -> Response {
    axum::Json(issuer.jwks.clone()).into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` random bytes as lowercase hex.
fn random_token(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    Ok(hex::encode(buf))
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::authorizer::Rejection;

    fn issuer() -> LocalIssuer {
        LocalIssuer::new(
            "http://127.0.0.1:1".into(),
            vec!["iris-dev/predict".into(), "iris-dev/other".into()],
            600,
        )
        .expect("issuer")
    }

    fn predict() -> Vec<String> {
        vec!["iris-dev/predict".to_owned()]
    }

    #[test]
    fn its_tokens_pass_its_verifier_and_fail_another_key() {
        let a = issuer();
        let now = 1_000_000;
        let token = a.mint(&predict(), 60, now).expect("token");
        let ok = a
            .verifier()
            .verify(&format!("Bearer {token}"), &predict(), now)
            .expect("accepted");
        assert_eq!(ok.client_id, a.client_id);
        assert_eq!(ok.exp, now + 60);
        let b = issuer();
        let mut other = b.verifier();
        other.issuer = a.issuer.clone();
        assert!(matches!(
            other.verify(&token, &predict(), now),
            Err(Rejection::UnknownKey(_))
        ));
        // Same kid, other key: the signature is what fails.
        let mut same_kid = b.jwks().clone();
        same_kid.keys[0].common.key_id = Some(a.kid.clone());
        other.keys = same_kid;
        other.client_ids = vec![a.client_id.clone()];
        assert!(matches!(
            other.verify(&token, &predict(), now),
            Err(Rejection::Signature(_))
        ));
    }

    #[test]
    fn expiry_scope_issuer_and_tampering_are_refused() {
        let a = issuer();
        let now = 1_000_000;
        let v = a.verifier();
        let token = a.mint(&predict(), 60, now).expect("token");
        assert!(matches!(
            v.verify(&token, &predict(), now + 60),
            Err(Rejection::Expired { .. })
        ));
        let other = a
            .mint(&["iris-dev/other".to_owned()], 60, now)
            .expect("token");
        assert!(matches!(
            v.verify(&other, &predict(), now),
            Err(Rejection::Scope { .. })
        ));
        assert!(
            matches!(
                v.verify(&token, &[], now),
                Err(Rejection::TokenUse { wanted: "id", .. })
            ),
            "a method without scopes takes ID tokens only"
        );
        let mut wrong = v.clone();
        wrong.issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other".into();
        assert!(matches!(
            wrong.verify(&token, &predict(), now),
            Err(Rejection::Issuer(_))
        ));
        let mut tampered = token.clone().into_bytes();
        let at = tampered.len() - 5;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(matches!(
            v.verify(&tampered, &predict(), now),
            Err(Rejection::Signature(_))
        ));
        assert!(matches!(
            v.verify("", &predict(), now),
            Err(Rejection::Malformed(_))
        ));
    }

    #[test]
    fn the_token_endpoint_checks_client_grant_and_scope() {
        let a = issuer();
        let basic = |id: &str, secret: &str| {
            let mut h = HeaderMap::new();
            let v = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
            h.insert(header::AUTHORIZATION, v.parse().expect("header"));
            h
        };
        let good = basic(&a.client_id, &a.client_secret);
        let answer = a
            .grant(
                &good,
                b"grant_type=client_credentials&scope=iris-dev%2Fpredict",
                5,
            )
            .expect("token");
        assert_eq!(answer["scope"], "iris-dev/predict");
        assert_eq!(answer["expires_in"], 600);
        let answer = a
            .grant(&good, b"grant_type=client_credentials&lifetime=1", 5)
            .expect("token");
        assert_eq!(answer["expires_in"], 1);
        assert_eq!(answer["scope"], "iris-dev/predict iris-dev/other");
        let bad = basic(&a.client_id, "wrong");
        assert_eq!(
            a.grant(&bad, b"grant_type=client_credentials", 5)
                .expect_err("refused")
                .1,
            "invalid_client"
        );
        assert_eq!(
            a.grant(&good, b"grant_type=password", 5)
                .expect_err("refused")
                .1,
            "unsupported_grant_type"
        );
        assert_eq!(
            a.grant(&good, b"grant_type=client_credentials&scope=admin", 5)
                .expect_err("refused")
                .1,
            "invalid_scope"
        );
        assert_eq!(
            a.grant(&good, b"grant_type=client_credentials&lifetime=0", 5)
                .expect_err("refused")
                .1,
            "invalid_request"
        );
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            a.client_id, a.client_secret
        );
        assert!(
            a.grant(&HeaderMap::new(), form.as_bytes(), 5).is_ok(),
            "credentials in the form"
        );
    }
}

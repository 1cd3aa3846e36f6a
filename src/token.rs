//! Access tokens for an env's machine client: the OAuth2 client-credentials grant
//! (RFC 6749 section 4.4) against a token endpoint, either the env's Cognito domain
//! (`TokenUrl` of the auth stack; the client secret read with Cognito's
//! DescribeUserPoolClient) or the local issuer a `local serve --env ENV` runs, which
//! records where it answers in a file only its user can read ([`LocalServeRecord`]).
//! Owns the grant and that record; never prints, logs or returns a client secret in an
//! error.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::http::Http;

/// Where `local serve --env ENV` records its issuer: `$IRISCTL_LOCAL_DIR`, else
/// `.irisctl/local` under the current directory.
pub fn local_dir() -> PathBuf {
    std::env::var_os("IRISCTL_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".irisctl/local"))
}

/// What a running `local serve --env ENV` tells `irisctl token` and `irisctl smoke`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalServeRecord {
    pub env: String,
    /// Where the API answers (`http://127.0.0.1:PORT`).
    pub api_url: String,
    /// The sha256 of the model it serves, when it was told (`--model`, `--model-sha256`).
    pub model_sha256: Option<String>,
    /// Its token issuer, when the env's methods have an authorizer.
    pub issuer: Option<LocalIssuerRecord>,
    pub pid: u32,
}

/// The local issuer's endpoint and its one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalIssuerRecord {
    pub issuer: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes the client may ask for; `api_scopes` are the ones methods accept.
    pub scopes: Vec<String>,
    pub api_scopes: Vec<String>,
}

impl LocalServeRecord {
    pub fn path(dir: &Path, env: &str) -> PathBuf {
        dir.join(format!("{env}.json"))
    }

    /// Write the record readable by this user only.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = Self::path(dir, &self.env);
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The record of a local serve for `env`, if one runs.
    pub fn read(dir: &Path, env: &str) -> anyhow::Result<Option<LocalServeRecord>> {
        let path = Self::path(dir, env);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let record: LocalServeRecord = serde_json::from_str(&text).with_context(|| {
            format!("{} is not a local serve record; delete it", path.display())
        })?;
        // A record whose process is gone is stale (killed without cleaning up).
        if !Path::new(&format!("/proc/{}", record.pid)).exists() {
            return Ok(None);
        }
        Ok(Some(record))
    }
}

/// A granted token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub access_token: String,
    pub expires_in: u64,
    pub token_type: String,
    #[serde(default)]
    pub scope: String,
}

/// One client-credentials grant. `extra` adds form fields (the local issuer's `lifetime`).
pub async fn client_credentials(
    http: &Http,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
    extra: &[(&str, &str)],
) -> anyhow::Result<Token> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(scope) = scope {
        form.append_pair("scope", scope);
    }
    for (k, v) in extra {
        form.append_pair(k, v);
    }
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let auth = format!("Basic {basic}");
    let reply = http
        .send(
            http::Method::POST,
            token_url,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &auth),
            ],
            form.finish().into_bytes(),
        )
        .await
        .with_context(|| format!("asking {token_url} for a token"))?;
    if reply.status != 200 {
        let error = reply
            .json()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {}", reply.status));
        bail!(
            "the token endpoint {token_url} refused the client-credentials grant for client {client_id}: {error} \
             (invalid_client: wrong client or secret; invalid_scope: the client may not ask for that scope)"
        );
    }
    let mut token: Token = serde_json::from_slice(&reply.body)
        .with_context(|| format!("{token_url} answered 200 without a token response"))?;
    // Cognito's answer names no scope: the granted one is the one asked for.
    if token.scope.is_empty() {
        token.scope = scope.unwrap_or_default().to_owned();
    }
    Ok(token)
}

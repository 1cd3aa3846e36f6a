//! The one plain HTTP(S) client irisctl has, for what is not an AWS API call: an OAuth2
//! token endpoint (`irisctl token`) and the env's own API (`irisctl smoke`). HTTP/1.1 over
//! hyper-util and rustls (aws-lc-rs, the platform's root certificates), the same stack the
//! AWS SDK already builds, so it adds no TLS code of its own. Must not log request or
//! response bodies or headers: they carry client secrets and tokens.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Http {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Http> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .context("loading this machine's root certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    /// Send one request and read the whole answer.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(url)
            .body(Full::new(Bytes::from(body)))
            .with_context(|| format!("{url} is not a valid URL"))?;
        for (name, value) in headers {
            let name =
                HeaderName::try_from(*name).with_context(|| format!("header name {name}"))?;
            // Never echo the value: it may be a token or a secret.
            let value = HeaderValue::from_str(value)
                .with_context(|| format!("the value of header {name} is not valid"))?;
            req.headers_mut().insert(name, value);
        }
        let call = async {
            let resp = self.client.request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes().to_vec();
            Ok::<_, anyhow::Error>(Reply {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(reply) => reply.with_context(|| format!("{method} {} failed", without_query(url))),
            Err(_) => anyhow::bail!(
                "{method} {} did not answer within {:?}",
                without_query(url),
                self.timeout
            ),
        }
    }
}

fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

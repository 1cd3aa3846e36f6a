//! Shared by the function's integration tests: a minimal HTTP/1.1 client (the tests must
//! see exactly the bytes the front sends) and a way to run the real `bootstrap` under
//! irisctl's local runtime, in-process.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use irisctl::local::function::FunctionSpec;
use irisctl::local::{ServeOptions, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// One request over a fresh connection (`Connection: close`, so the body ends at EOF).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> HttpResponse {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the front");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("response has a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Starts `irisctl local serve` in-process for `program` with `env`; returns the front's address.
pub async fn start(
    program: &str,
    args: &[&str],
    env: Vec<(String, String)>,
    timeout: Duration,
) -> SocketAddr {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut full_env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
    full_env.extend(env);
    let options = ServeOptions {
        port: 0,
        function: FunctionSpec {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            env: full_env,
            workdir: None,
            function_name: "test".into(),
            region: "us-east-1".into(),
        },
        timeout,
        gate: None,
        issuer: None,
    };
    tokio::spawn(async move {
        serve(options, move |addr| {
            let _ = tx.send(addr);
        })
        .await
        .expect("local serve");
    });
    rx.await.expect("front came up")
}

pub const GOOD: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

/// Fake credentials and region: the function's SDK needs some, and they are never real.
pub fn fake_aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
pub mod model;

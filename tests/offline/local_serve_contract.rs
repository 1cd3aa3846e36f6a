//! `irisctl local serve --env ENV` enforces ENV's API contract before the function runs:
//! the authorizer (tokens from the local issuer, asked with `irisctl token --local`), the
//! request model, the gateway responses and the stage throttle. The function is a shell
//! runtime (bash + curl) that answers every event with 200, so whatever is refused was
//! refused by the contract.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::binary::{CapturedStderr, listening_addr};
use crate::support::irisctl;

const SHELL_RUNTIME: &str = r#"#!/bin/bash
set -euo pipefail
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  headers="$(mktemp)"
  curl -sS -D "$headers" -o /dev/null "$api/invocation/next"
  id="$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d: -f2 | tr -d '[:space:]')"
  rm -f "$headers"
  curl -sS -X POST "$api/invocation/$id/response" \
    -d '{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"sha256\":\"shell\"}"}' >/dev/null
done
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A local serve of `env` from `envs`, killed on drop.
struct Serve {
    child: Child,
    addr: SocketAddr,
    _stderr: CapturedStderr,
}

impl Serve {
    fn start(env: &str, envs: &Path, local_dir: &Path, scratch: &Path) -> Serve {
        use std::os::unix::fs::PermissionsExt as _;
        let bootstrap = scratch.join("bootstrap");
        std::fs::write(&bootstrap, SHELL_RUNTIME).expect("write bootstrap");
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let stderr = CapturedStderr::new("irisctl local serve --env");
        let mut child = irisctl(&["local", "serve", "--port", "0", "--env", env])
            .without_aws()
            .env("IRISCTL_LOCAL_DIR", local_dir)
            .command()
            .arg("--envs-dir")
            .arg(envs)
            .arg("--bootstrap")
            .arg(&bootstrap)
            .stdout(Stdio::piped())
            .stderr(stderr.stdio())
            .spawn()
            .expect("start irisctl local serve");
        let addr = listening_addr(&mut child);
        Serve {
            child,
            addr,
            _stderr: stderr,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request: status, lower-cased head, body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_lowercase(), body.to_owned())
}

fn token(env: &str, envs: &Path, local_dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["token", "--env", env, "--local"];
    args.extend(extra);
    irisctl(&args)
        .without_aws()
        .env("IRISCTL_LOCAL_DIR", local_dir)
        .arg("--envs-dir")
        .arg(envs)
        .output()
}

const FLOWER: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn dev_served_locally_requires_a_scoped_token_and_a_valid_body() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let local_dir = scratch.path().join("local");
    let envs = repo().join("environments");

    let none = token("dev", &envs, &local_dir, &[]);
    assert_eq!(none.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.contains("no `irisctl local serve --env dev` is running"),
        "{stderr}"
    );

    let serve = Serve::start("dev", &envs, &local_dir, scratch.path());
    let out = token("dev", &envs, &local_dir, &["--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let granted: Value = serde_json::from_slice(&out.stdout).expect("token JSON");
    assert_eq!(granted["issuer"], "local");
    assert_eq!(granted["scope"], "iris-dev-api/predict");
    assert_eq!(granted["expires_in"], 3600, "access_token_minutes 60");
    let record = std::fs::read_to_string(local_dir.join("dev.json")).expect("record");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(
            serde_json::from_str::<Value>(&record).expect("record JSON")["issuer"]["client_secret"]
                .as_str()
                .expect("secret")
        ),
        "the client secret is never printed"
    );
    let bearer = format!(
        "Authorization: Bearer {}",
        granted["access_token"].as_str().expect("token")
    );
    let json = "Content-Type: application/json".to_owned();

    let (status, head, body) = request(
        serve.addr,
        "POST",
        "/predict",
        &[bearer.clone(), json.clone()],
        FLOWER,
    );
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(head.contains("x-amzn-requestid:"), "{head}");
    let (status, _, body) = request(
        serve.addr,
        "GET",
        "/model",
        std::slice::from_ref(&bearer),
        "",
    );
    assert_eq!((status, body.as_str()), (200, r#"{"sha256":"shell"}"#));

    let (status, _, body) = request(
        serve.addr,
        "POST",
        "/predict",
        std::slice::from_ref(&json),
        FLOWER,
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    let (status, _, body) = request(
        serve.addr,
        "GET",
        "/model",
        &["Authorization: Bearer x.y.z".into()],
        "",
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );
    let (status, _, body) = request(
        serve.addr,
        "POST",
        "/predict",
        &[bearer.clone(), json.clone()],
        r#"{"sepal_length":"5"}"#,
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "BAD_REQUEST_BODY"),
        "{body}"
    );
    let (status, _, body) = request(
        serve.addr,
        "POST",
        "/predict",
        &[bearer.clone(), json.clone()],
        "{",
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "BAD_REQUEST_BODY"),
        "{body}"
    );
    let (status, _, body) = request(
        serve.addr,
        "DELETE",
        "/model",
        std::slice::from_ref(&bearer),
        "",
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "MISSING_AUTHENTICATION_TOKEN"),
        "{body}"
    );

    // A valid token of the issuer without the predict scope: 401, as API Gateway answers.
    let out = token("dev", &envs, &local_dir, &["--output", "json"]);
    assert!(out.status.success());
    let record: Value = serde_json::from_str(&record).expect("record JSON");
    let unused = record["issuer"]["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .filter_map(Value::as_str)
        .find(|s| s.ends_with("/unused"))
        .expect("an unused scope")
        .to_owned();
    let form = format!(
        "grant_type=client_credentials&scope={}",
        unused.replace('/', "%2F")
    );
    let issuer: SocketAddr = record["issuer"]["issuer"]
        .as_str()
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|a| a.parse().ok())
        .expect("issuer address");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        record["issuer"]["client_id"].as_str().expect("id"),
        record["issuer"]["client_secret"].as_str().expect("secret")
    ));
    let (status, _, body) = request(
        issuer,
        "POST",
        "/oauth2/token",
        &[
            format!("Authorization: Basic {basic}"),
            "Content-Type: application/x-www-form-urlencoded".into(),
        ],
        &form,
    );
    assert_eq!(status, 200, "{body}");
    let unscoped: Value = serde_json::from_str(&body).expect("token JSON");
    let bearer = format!(
        "Authorization: Bearer {}",
        unscoped["access_token"].as_str().expect("token")
    );
    let (status, _, body) = request(serve.addr, "POST", "/predict", &[bearer, json], FLOWER);
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "UNAUTHORIZED"),
        "{body}"
    );

    drop(serve);
    assert!(
        !local_dir.join("dev.json").exists(),
        "the record goes with the serve"
    );
}

/// At twice the stage rate for 3 s, the share of 429s is what the token bucket predicts
/// (within 10% of the requests), and every request gets exactly one answer.
#[test]
fn twice_the_stage_rate_is_throttled_as_the_token_bucket_predicts() {
    let (rate, burst) = (20.0_f64, 10_u32);
    let scratch = tempfile::tempdir().expect("tempdir");
    let envs = scratch.path().join("envs");
    std::fs::create_dir_all(&envs).expect("mkdir");
    let local =
        std::fs::read_to_string(repo().join("environments/local.yaml")).expect("local.yaml");
    let throttled = local
        .replace("throttle_rate: 10", &format!("throttle_rate: {rate}"))
        .replace("throttle_burst: 20", &format!("throttle_burst: {burst}"));
    assert_ne!(throttled, local, "local.yaml's throttle lines moved");
    std::fs::write(envs.join("local-throttle.yaml"), throttled).expect("env file");
    let local_dir = scratch.path().join("local");
    let serve = Serve::start("local-throttle", &envs, &local_dir, scratch.path());
    // The emulator env's contract has the authorizer: every request carries a token.
    let out = token("local-throttle", &envs, &local_dir, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bearer = format!(
        "Authorization: Bearer {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    // Warm the function so its start does not count against the schedule.
    let (status, _, body) = request(
        serve.addr,
        "GET",
        "/model",
        std::slice::from_ref(&bearer),
        "",
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_secs_f64(f64::from(burst) / rate + 0.5));

    let per_second = 2.0 * rate;
    let total = (per_second * 3.0) as usize;
    let schedule: Vec<f64> = (0..total).map(|i| i as f64 / per_second).collect();
    let start = Instant::now() + Duration::from_millis(200);
    let handles: Vec<_> = schedule
        .iter()
        .map(|&at| {
            let addr = serve.addr;
            let bearer = bearer.clone();
            std::thread::spawn(move || {
                let when = start + Duration::from_secs_f64(at);
                std::thread::sleep(when.saturating_duration_since(Instant::now()));
                let (status, head, _) =
                    request(addr, "GET", "/model", std::slice::from_ref(&bearer), "");
                let id = head
                    .lines()
                    .find_map(|l| l.strip_prefix("x-amzn-requestid:"))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default();
                (status, id)
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = handles
        .into_iter()
        .map(|h| h.join().expect("request thread"))
        .collect();
    assert_eq!(answers.len(), total, "every request answered");
    let mut ids: Vec<&str> = answers.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        total,
        "one answer per request, each with its own request id"
    );
    assert!(!ids.contains(&""), "every answer names its request");
    let throttled = answers.iter().filter(|(s, _)| *s == 429).count();
    let passed = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(throttled + passed, total, "only 200 or 429: {answers:?}");
    let predicted = total - irisctl::gateway::throttle::predicted_allowed(rate, burst, &schedule);
    let (observed_share, predicted_share) = (
        throttled as f64 / total as f64,
        predicted as f64 / total as f64,
    );
    eprintln!(
        "throttle: {total} requests at {per_second}/s for 3 s, rate {rate} burst {burst}: \
         {throttled} answered 429 ({:.1}%), the token bucket predicts {predicted} ({:.1}%)",
        observed_share * 100.0,
        predicted_share * 100.0
    );
    assert!(
        (observed_share - predicted_share).abs() <= 0.10,
        "429 share {observed_share:.3} vs predicted {predicted_share:.3}"
    );
}

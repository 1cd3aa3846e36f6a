//! `bootstrap serve` as a process: the inference container's contract (`GET /ping`
//! healthy only once the model is loaded and verified, `POST /invocations` with JSON and
//! CSV in the API's answer shapes, a 4xx for every bad input), over real TCP.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::model::{manifest_json, trained};
use serde_json::Value;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");
const FLOWER: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn model_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("model.bin"), &trained().bytes).expect("write model");
    std::fs::write(dir.path().join("manifest.json"), manifest_json()).expect("write manifest");
    dir
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BOOTSTRAP);
    cmd.arg("serve")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts `bootstrap serve --port 0 ARGS` and reads the bound address from its log.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    let mut child = command(&all, env).spawn().expect("start bootstrap serve");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve logged no listening address before exiting")
            .expect("read stdout");
        let Ok(log) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if log["event"] == "serve_listening" {
            let bound: SocketAddr = log["addr"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .expect("addr is host:port");
            break SocketAddr::from(([127, 0, 0, 1], bound.port()));
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served { child, addr }
}

struct Answer {
    status: u16,
    headers: String,
    body: Value,
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    Answer {
        status,
        headers: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

fn post(addr: SocketAddr, content_type: &str, body: &str) -> Answer {
    request(
        addr,
        "POST",
        "/invocations",
        Some(content_type),
        body.as_bytes(),
    )
}

fn wait_healthy(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    loop {
        let ping = request(addr, "GET", "/ping", None, b"");
        if ping.status == 200 {
            return started.elapsed();
        }
        assert_eq!(ping.status, 503, "{:?}", ping.body);
        assert!(started.elapsed() < Duration::from_secs(10), "never healthy");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn answers_ping_and_invocations_in_json_and_csv_like_the_api() {
    let dir = model_dir();
    let served = serve(&["--model", &dir.path().display().to_string()], &[]);
    wait_healthy(served.addr);
    let sha = trained().model.sha256();

    let ping = request(served.addr, "GET", "/ping", None, b"");
    assert_eq!(ping.body["status"], "healthy");
    assert_eq!(ping.body["model"]["sha256"], sha);

    let features = iris_model::Features::new([5.1, 3.5, 1.4, 0.2]).expect("valid");
    let expected = trained().model.predict(&features);

    let one = post(served.addr, "application/json", FLOWER);
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert!(one.headers.contains("content-type: application/json"));
    assert_eq!(one.body["species"], expected.species.as_str());
    assert_eq!(one.body["is_iris"], expected.is_iris);
    assert_eq!(one.body["model"]["sha256"], sha);

    let csv_one = post(served.addr, "text/csv; charset=utf-8", "5.1,3.5,1.4,0.2\n");
    assert_eq!(csv_one.status, 200, "{:?}", csv_one.body);
    assert_eq!(
        csv_one.body, one.body,
        "CSV and JSON answer the same flower alike"
    );

    let batch = post(
        served.addr,
        "application/json",
        &format!(r#"{{"instances":[{FLOWER},{FLOWER}]}}"#),
    );
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    let csv_batch = post(
        served.addr,
        "text/csv",
        "sepal_length,sepal_width,petal_length,petal_width\r\n5.1,3.5,1.4,0.2\r\n5.1,3.5,1.4,0.2\r\n",
    );
    assert_eq!(csv_batch.status, 200, "{:?}", csv_batch.body);
    assert_eq!(csv_batch.body, batch.body);
    assert_eq!(batch.body["predictions"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        batch.body["predictions"][1]["species"],
        expected.species.as_str()
    );
}

/// method, path, Content-Type, body, expected status, expected error code.
type BadCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a [u8], u16, &'a str);

#[test]
fn every_bad_input_gets_a_4xx_and_changes_nothing() {
    let dir = model_dir();
    let served = serve(&["--model", &dir.path().display().to_string()], &[]);
    wait_healthy(served.addr);
    let good = post(served.addr, "application/json", FLOWER);
    let too_many = "5.1,3.5,1.4,0.2\n".repeat(101);
    let too_large = vec![b' '; (1 << 20) + 1];
    let cases: Vec<BadCase> = vec![
        (
            "POST",
            "/invocations",
            Some("application/json"),
            b"",
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            b"{",
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            b"[]",
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            br#"{"sepal_length":5.1}"#,
            400,
            "missing_field",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            br#"{"sepal_length":"5","sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
            400,
            "wrong_type",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            br#"{"sepal_length":-5,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
            400,
            "invalid_value",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            br#"{"instances":[]}"#,
            400,
            "empty_batch",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            br#"{"colour":1}"#,
            400,
            "unknown_field",
        ),
        (
            "POST",
            "/invocations",
            Some("application/json"),
            &too_large,
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            b"",
            400,
            "malformed_csv",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            b"5.1,3.5,1.4",
            400,
            "wrong_column_count",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            b"5.1,3.5,x,0.2",
            400,
            "wrong_type",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            b"5.1,3.5,1.4,0",
            400,
            "invalid_value",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            &[0xff, 0xfe],
            400,
            "malformed_csv",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            too_many.as_bytes(),
            413,
            "batch_too_large",
        ),
        (
            "POST",
            "/invocations",
            Some("text/csv"),
            &too_large,
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/invocations",
            None,
            FLOWER.as_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/invocations",
            Some("text/plain"),
            FLOWER.as_bytes(),
            415,
            "unsupported_media_type",
        ),
        ("GET", "/invocations", None, b"", 405, "method_not_allowed"),
        ("POST", "/ping", None, b"", 405, "method_not_allowed"),
        ("GET", "/predict", None, b"", 404, "not_found"),
    ];
    for (method, path, ct, body, status, code) in cases {
        let answer = request(served.addr, method, path, ct, body);
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path} {ct:?} {:?}",
            String::from_utf8_lossy(&body[..body.len().min(60)])
        );
        assert!(answer.body["error"]["message"].is_string());
    }
    let allow = request(served.addr, "GET", "/invocations", None, b"");
    assert!(allow.headers.contains("allow: post"), "{}", allow.headers);
    // Still healthy, still the same answer.
    assert_eq!(request(served.addr, "GET", "/ping", None, b"").status, 200);
    assert_eq!(
        post(served.addr, "application/json", FLOWER).body,
        good.body
    );
}

#[test]
fn ping_is_503_until_the_model_is_loaded_from_the_pinned_s3_object() {
    // An "S3" that accepts connections and never answers: the load stays pending.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", silent.local_addr().expect("addr"));
    let sha = trained().model.sha256().to_owned();
    let served = serve(
        &[],
        &[
            ("MODEL_BUCKET", "bucket"),
            ("MODEL_KEY", "models/x/model.bin"),
            ("MODEL_SHA256", &sha),
            ("MANIFEST_KEY", "models/x/manifest.json"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    for _ in 0..3 {
        let ping = request(served.addr, "GET", "/ping", None, b"");
        assert_eq!(ping.status, 503);
        assert_eq!(ping.body["error"]["code"], "model_not_loaded");
        let answer = post(served.addr, "application/json", FLOWER);
        assert_eq!(answer.status, 503);
        // Validation does not wait for the model.
        assert_eq!(post(served.addr, "text/csv", "1,2").status, 400);
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(silent);
}

fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = command(args, env).spawn().expect("start");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(mut s) = child.stdout.take() {
                s.read_to_string(&mut out).expect("stdout");
            }
            if let Some(mut s) = child.stderr.take() {
                s.read_to_string(&mut err).expect("stderr");
            }
            return (status.code().unwrap_or(-1), out, err);
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("bootstrap serve {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_model_that_does_not_verify_or_bad_arguments_end_the_process_with_the_reason() {
    let dir = model_dir();
    let mut tampered = trained().bytes.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    std::fs::write(dir.path().join("model.bin"), &tampered).expect("tamper");
    let path = dir.path().display().to_string();
    let (code, out, err) = run_to_exit(&["--port", "0", "--model", &path], &[]);
    assert_ne!(code, 0);
    assert!(out.contains("model_load_failed"), "{out}");
    assert!(err.contains("failed verification"), "{err}");

    let missing = Path::new(&path).join("nope");
    let (code, _, err) = run_to_exit(
        &["--port", "0", "--model", &missing.display().to_string()],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("nope/model.bin"), "{err}");

    let good = model_dir();
    let good_path = good.path().display().to_string();
    let (code, _, err) = run_to_exit(
        &["--port", "0", "--model", &good_path],
        &[("MODEL_SHA256", &"0".repeat(64))],
    );
    assert_ne!(
        code, 0,
        "a directory holding another model than the pin is refused"
    );
    assert!(err.contains("failed verification"), "{err}");

    for (args, needle) in [
        (&["--port", "x"][..], "not a port number"),
        (&["--what"], "unexpected argument"),
    ] {
        let (code, _, err) = run_to_exit(args, &[]);
        assert_ne!(code, 0);
        assert!(
            err.contains(needle) && err.contains("usage: bootstrap serve"),
            "{err}"
        );
    }
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = model_dir();
    let mut served = serve(&["--model", &dir.path().display().to_string()], &[]);
    wait_healthy(served.addr);
    let status = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = served.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

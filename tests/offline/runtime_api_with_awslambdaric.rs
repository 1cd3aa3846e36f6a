//! irisctl's Lambda Runtime API against a runtime client nobody here wrote: AWS's Python
//! runtime interface client (`awslambdaric`, PyPI) runs tests/fixtures/ric/app.py under
//! `irisctl local serve --command`. Needs .venv-ric/ (scripts/ric-venv; scripts/test runs it).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::binary::{CapturedStderr, listening_addr};
use crate::support::irisctl;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let python = repo().join(".venv-ric/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import awslambdaric"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "awslambdaric is not installed: run scripts/ric-venv (scripts/test does) to create .venv-ric/"
    );
    python
}

/// `irisctl local serve` as a child process; killed (SIGTERM, then reaped) on drop. Its
/// stderr (the function's log lines, an expected traceback) is shown only if the test fails.
struct Serve {
    child: Child,
    addr: SocketAddr,
    // Kept for its drop, which prints it when the test panics.
    _stderr: CapturedStderr,
}

impl Serve {
    fn start(handler: &str) -> Serve {
        let command = format!("{} -m awslambdaric {handler}", python().display());
        let stderr = CapturedStderr::new("irisctl local serve");
        let mut child = irisctl(&[
            "local",
            "serve",
            "--port",
            "0",
            "--timeout",
            "5",
            "--function-name",
            "ric-test",
        ])
        .command()
        .arg("--command")
        .arg(command)
        // Keep the fixture directory free of __pycache__.
        .args(["--function-env", "PYTHONDONTWRITEBYTECODE=1"])
        .arg("--workdir")
        .arg(repo().join("tests/fixtures/ric"))
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

    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs .venv-ric (scripts/ric-venv); scripts/test runs it"]
fn awslambdaric_handler_runs_under_the_local_runtime() {
    let serve = Serve::start("app.handler");

    let (status, head, body) = serve.request("POST", "/hello?x=1", r#"{"a":1}"#);
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("x-handler: python"), "{head}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["path"], "/hello");
    assert_eq!(json["method"], "POST");
    assert_eq!(json["body"], r#"{"a":1}"#);
    assert_eq!(json["function_name"], "ric-test");
    assert_eq!(
        json["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:ric-test"
    );
    let request_id = json["request_id"].as_str().expect("request id");
    assert_eq!(request_id.len(), 36, "{request_id}");
    // The deadline header made it through: between 0 and the 5 s timeout.
    let remaining = json["remaining_ms"].as_i64().expect("remaining");
    assert!((1..=5000).contains(&remaining), "{remaining}");

    // An exception goes through /invocation/{id}/error and comes out as API Gateway's 502.
    let (status, _, body) = serve.request("GET", "/boom", "");
    assert_eq!(status, 502, "{body}");
    assert_eq!(body, r#"{"message":"Internal server error"}"#);

    // The runtime keeps serving after a handler error, with a new request id each time.
    let (status, _, body) = serve.request("GET", "/again", "");
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_ne!(again["request_id"].as_str(), Some(request_id));
}

#[test]
#[ignore = "needs .venv-ric (scripts/ric-venv); scripts/test runs it"]
fn awslambdaric_init_error_is_a_502_not_a_hang() {
    let serve = Serve::start("broken.handler");
    let started = std::time::Instant::now();
    let (status, _, body) = serve.request("GET", "/anything", "");
    assert_eq!(status, 502, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

//! Running the irisctl binary from a test, one way for every test file: the binary cargo
//! built for this test run, started from the repository root with stdin closed (a prompt
//! can never wait for a terminal), its output captured so a passing test prints nothing.
//!
//! Which AWS the run could reach is the caller's choice: [`Irisctl::aws_at`] and
//! [`Irisctl::without_aws`] cut it off from the caller's AWS setup; left alone it inherits
//! the environment, which is how the emulator tests reach `scripts/emulator env`'s
//! endpoints.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A loopback port with nothing behind it (the discard port): a call that reaches it fails.
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

/// `irisctl ARGS`, not started yet; see the module docs for what it inherits.
pub fn irisctl<S: AsRef<OsStr>>(args: &[S]) -> Irisctl {
    let mut command = Command::new(env!("CARGO_BIN_EXE_irisctl"));
    command
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .stdin(Stdio::null());
    Irisctl { command }
}

/// A prepared irisctl run.
pub struct Irisctl {
    command: Command,
}

impl Irisctl {
    /// Only the AWS this test sets: every `AWS_*` variable of the caller removed (profiles,
    /// tokens, per-service endpoints), the config and credentials files empty, static test
    /// credentials, and every service at `endpoint`.
    pub fn aws_at(mut self, endpoint: &str) -> Self {
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                self.command.env_remove(name);
            }
        }
        self.command
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        self
    }

    /// No AWS at all: [`Irisctl::aws_at`] a closed loopback port, so a refusal asserted by
    /// the test must come before any AWS call (one that was made would fail with exit 1).
    pub fn without_aws(self) -> Self {
        self.aws_at(DEAD_ENDPOINT)
    }

    /// One more argument (a path, say).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// One environment variable for this run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Runs it to the end; stdout and stderr are captured in the [`Output`].
    pub fn output(mut self) -> Output {
        self.command
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", env!("CARGO_BIN_EXE_irisctl")))
    }

    /// The command itself, for a test that spawns it and talks to it (set its stdio).
    pub fn command(self) -> Command {
        self.command
    }
}

/// A child process's stderr kept in a temporary file and printed only when the test
/// fails (on drop while panicking), so a passing test prints nothing while a failing one
/// still shows what the child said.
pub struct CapturedStderr {
    file: std::fs::File,
    label: String,
}

impl CapturedStderr {
    /// `label` names the child in the failure output.
    pub fn new(label: &str) -> Self {
        let file = tempfile::tempfile().unwrap_or_else(|e| {
            panic!("could not create a temporary file for {label}'s stderr: {e}")
        });
        CapturedStderr {
            file,
            label: label.to_owned(),
        }
    }

    /// A handle to give the child as its stderr.
    pub fn stdio(&self) -> Stdio {
        let handle = self
            .file
            .try_clone()
            .unwrap_or_else(|e| panic!("could not share the stderr file of {}: {e}", self.label));
        Stdio::from(handle)
    }

    /// Everything the child wrote so far.
    pub fn contents(&self) -> String {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let mut file = &self.file;
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for CapturedStderr {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- stderr of {} ----\n{}", self.label, self.contents());
        }
    }
}

/// The address a started `irisctl local serve --port 0` listens on: its first stdout line,
/// `listening on http://ADDR` (stdout must be piped; it is taken from the child).
pub fn listening_addr(child: &mut Child) -> std::net::SocketAddr {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    line.trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
}

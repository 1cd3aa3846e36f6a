//! `irisctl smoke --env ENV`, the stage gate, end to end, for the emulator env (which states
//! `auth.mode: cognito`): it passes against the env's deployed API (LocalStack's API
//! Gateway and Lambda running the packaged function; LocalStack cannot deploy the
//! authorizer, so the auth checks are not applicable there) and against `irisctl local
//! serve --env ENV` serving the live model, where the authorizer is enforced and every auth
//! check runs; it fails, exit 1 with the failing checks named, when local serve's function
//! is given another model than the one `irisctl status` says is live.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::function_runs::{assert_ok, cleanup, iris_model, run};
use crate::support;
use crate::support::binary::CapturedStderr;

struct Serve {
    child: Child,
    url: String,
    _stderr: CapturedStderr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn serve(
    env: &str,
    envs: &Path,
    local_dir: &Path,
    package: &Path,
    model: &Path,
    bucket: &str,
) -> Serve {
    let stderr = CapturedStderr::new("irisctl local serve");
    let mut child = support::irisctl(&[
        "local", "serve", "--port", "0", "--env", env, "--bucket", bucket,
    ])
    .env("IRISCTL_LOCAL_DIR", local_dir)
    .command()
    .arg("--envs-dir")
    .arg(envs)
    .arg("--zip")
    .arg(package.join("lambda.zip"))
    .arg("--model")
    .arg(model)
    .stdout(Stdio::piped())
    .stderr(stderr.stdio())
    .spawn()
    .expect("start irisctl local serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Serve {
        child,
        url,
        _stderr: stderr,
    }
}

fn smoke(env: &str, envs: &Path, local_dir: &Path, url: Option<&str>, extra: &[&str]) -> Output {
    let mut args = vec!["smoke", "--env", env, "--requests", "20"];
    args.extend(extra);
    if let Some(url) = url {
        args.extend(["--url", url]);
    }
    support::irisctl(&args)
        .env("IRISCTL_LOCAL_DIR", local_dir)
        .arg("--envs-dir")
        .arg(envs)
        .output()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn smoke_passes_where_the_live_model_answers_and_names_what_fails_otherwise() {
    let aws = support::emulators().await;
    let env = support::unique_env("smk");
    let envs = support::envs_dir_with_emulator_env(&env);
    let local = std::fs::read_to_string(envs.path().join(format!("{env}.yaml"))).expect("env file");
    assert!(
        local.contains("mode: cognito"),
        "local.yaml states its authorizer: {local}"
    );
    let work = tempfile::tempdir().expect("tempdir");
    let bucket = support::unique_name("smoke-models");
    let body = {
        let (env, envs, work, bucket) = (
            env.clone(),
            envs.path().to_owned(),
            work.path().to_owned(),
            bucket.clone(),
        );
        async move { exercise(&env, &envs, &work, &bucket) }
    };
    let outcome = tokio::spawn(body).await;
    cleanup(&aws, &env).await;
    if let Err(err) = support::empty_and_delete_bucket(&aws.s3, &bucket).await {
        eprintln!("cleanup: {err}");
    }
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

fn exercise(env: &str, envs: &Path, work: &Path, bucket: &str) {
    let (live, other, package) = (work.join("live"), work.join("other"), work.join("package"));
    let local_dir = work.join("local");
    let iris_model = iris_model();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    assert_ok(
        "train live",
        &run(&iris_model, &["train", "--out", &path(&live)]),
    );
    assert_ok(
        "train other",
        &run(
            &iris_model,
            &["train", "--seed", "7", "--out", &path(&other)],
        ),
    );
    assert_ok(
        "package",
        &support::irisctl(&["package", "--out", &path(&package)]).output(),
    );
    let deployed = support::irisctl(&[
        "deploy",
        "--env",
        env,
        "--yes",
        "--model",
        &path(&live),
        "--package",
        &path(&package),
    ])
    .arg("--envs-dir")
    .arg(envs)
    .output();
    assert_ok("deploy", &deployed);

    // The emulator env's deployed API: passes, the auth checks not applicable.
    let out = smoke(env, envs, &local_dir, None, &[]);
    assert_ok("smoke against the emulator env's API", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("n/a    no token -> 401"), "{text}");
    assert!(
        text.contains("LocalStack cannot deploy its Cognito"),
        "{text}"
    );
    assert!(
        text.contains("pass   golden set answers as recorded"),
        "{text}"
    );

    // local serve of the same env, given the live model: passes, every auth check run.
    {
        let s = serve(env, envs, &local_dir, &package, &live, bucket);
        let out = smoke(env, envs, &local_dir, Some(&s.url), &[]);
        assert_ok("smoke against local serve with the live model", &out);
        let text = String::from_utf8_lossy(&out.stdout);
        for check in [
            "no token -> 401",
            "token without the predict scope -> 401",
            "tampered token -> 401",
            "expired token -> 401",
            "oversized batch -> 400",
        ] {
            assert!(text.contains(&format!("pass   {check}")), "{check}: {text}");
        }
    }
    // ... given another model: exit 1, the failing checks named.
    {
        let s = serve(env, envs, &local_dir, &package, &other, bucket);
        let out = smoke(env, envs, &local_dir, Some(&s.url), &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            support::describe_output(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("GET /model names the live model"),
            "{stderr}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("FAIL   GET /model names the live model"),
            "{text}"
        );
    }
    let destroyed = support::irisctl(&["destroy", "--env", env, "--yes"])
        .arg("--envs-dir")
        .arg(envs)
        .output();
    assert_ok("destroy", &destroyed);
}

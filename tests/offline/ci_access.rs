//! CI access and the delivery pipeline, through the binary: `bootstrap --github-oidc`
//! and `--deploy-envs` render what they promise and refuse bad input before anything is
//! written or called; `pipeline render` writes one template and refuses envs it cannot
//! deliver to; `__parse-only` parses exactly what the real command line would.

use std::path::Path;
use std::process::Output;

use crate::support;
use crate::support::binary::DEAD_ENDPOINT;

fn run(args: &[&str]) -> Output {
    support::irisctl(args)
        .env(
            "IRISCTL_ENVS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("environments"),
        )
        .aws_at(DEAD_ENDPOINT)
        .output()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn bootstrap_with_github_oidc_renders_a_role_per_environment() {
    let dir = scratch();
    let out = dir.path().join("account");
    let o = run(&[
        "bootstrap",
        "--region",
        "eu-west-1",
        "--github-oidc",
        "acme/iris",
        "--render-to",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body =
        std::fs::read_to_string(out.join("irisctl-account-eu-west-1.yaml")).expect("written");
    for needle in [
        "AWS::IAM::OIDCProvider",
        "repo:acme/iris:environment:pr",
        "repo:acme/iris:environment:staging",
        "repo:acme/iris:environment:prod",
        "repo:acme/iris:pull_request",
        "DeployPolicyProd",
    ] {
        assert!(body.contains(needle), "{needle} missing:\n{body}");
    }
}

#[test]
fn bootstrap_refuses_bad_ci_flags_and_writes_nothing() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--github-oidc", "not-a-repo"],
            "is not a GitHub repository",
        ),
        (
            &[
                "--github-oidc",
                "acme/iris",
                "--github-oidc-provider",
                "arn:aws:iam::1:role/x",
            ],
            "is not the ARN of a provider for token.actions.githubusercontent.com",
        ),
        (
            &["--deploy-envs", "staging,Prod"],
            "`Prod` is not an env name",
        ),
        (
            &["--deploy-envs", "staging", "--project", "Iris"],
            "is not a project name",
        ),
    ];
    for (flags, message) in cases {
        let dir = scratch();
        let out = dir.path().join("account");
        let mut args = vec!["bootstrap", "--region", "us-east-1"];
        args.extend_from_slice(flags);
        args.extend(["--render-to", out.to_str().expect("utf-8")]);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{flags:?}: {}", stderr(&o));
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
    // The provider ARN means nothing without the repository it is for.
    let o = run(&[
        "bootstrap",
        "--region",
        "us-east-1",
        "--github-oidc-provider",
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
        "--render-to",
        "/nonexistent/never-written",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--github-oidc <OWNER/REPO>"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pipeline_render_writes_the_pipeline_of_staging_then_prod() {
    let dir = scratch();
    let o = run(&[
        "pipeline",
        "render",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body = std::fs::read_to_string(dir.path().join("irisctl-pipeline-iris-prod.yaml"))
        .expect("written");
    assert!(body.contains("AWS::CodePipeline::Pipeline"), "{body}");
    assert!(body.contains("pipeline/buildspec-staging.yml"), "{body}");
}

#[test]
fn pipeline_refuses_envs_it_cannot_deliver_to_and_writes_nothing() {
    let cases: [(&[&str], &str); 3] = [
        (&["--env", "staging"], "are the same env"),
        (&["--env", "local"], "runs on the emulators"),
        (&["--env", "nosuchenv"], "env `nosuchenv` is not valid"),
    ];
    for (flags, message) in cases {
        let dir = scratch();
        let out = dir.path().join("pipeline");
        let mut args = vec!["pipeline", "render", "--out", out.to_str().expect("utf-8")];
        args.extend_from_slice(flags);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{flags:?}: {}", stderr(&o));
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
}

#[test]
fn pipeline_deploy_refuses_bad_flags_before_calling_aws() {
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--repository",
                "acme",
                "--connection-arn",
                "arn:aws:codeconnections:us-east-1:111122223333:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            ],
            "is not OWNER/REPO",
        ),
        (
            &[
                "--repository",
                "acme/iris",
                "--connection-arn",
                "arn:aws:s3:::bucket",
            ],
            "is not a CodeConnections connection ARN",
        ),
        (
            &[
                "--repository",
                "acme/iris",
                "--connection-arn",
                "arn:aws:codeconnections:us-east-1:111122223333:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
                "--approval-email",
                "nobody",
            ],
            "is not an email address",
        ),
    ];
    for (flags, message) in cases {
        let mut args = vec!["pipeline", "deploy", "--env", "prod"];
        args.extend_from_slice(flags);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{flags:?}: {}", stderr(&o));
        // Refused before any call: no connection error to the dead endpoint.
        assert!(!stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
    }
}

#[test]
fn parse_only_parses_like_the_real_command_and_runs_nothing() {
    let dir = scratch();
    let out = dir.path().join("never");
    let o = run(&[
        "__parse-only",
        "render",
        "--env",
        "staging",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("the arguments parse"), "{}", stderr(&o));
    assert!(!out.exists(), "__parse-only ran the command");
    let o = run(&[
        "__parse-only",
        "plan",
        "--env",
        "staging",
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unexpected argument '--format'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["__parse-only", "rollout", "status", "--env", "staging"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["__parse-only", "release", "status", "--env", "staging"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Hidden: not in the help people read.
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(!help.contains("__parse-only"), "{help}");
}

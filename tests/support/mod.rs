//! Shared support for integration tests that talk to "AWS" (the local emulators).
//!
//! Owns: refusing to run unless every endpoint is loopback ([`emulators`]), clients built by
//! irisctl's own `aws` module from the same environment irisctl reads, unique resource
//! names per test ([`unique_name`]), and cleanup of what a test created even when it fails
//! ([`Cleanup`]). Must not: share resources between tests or assume a test order.
//!
//! Running the irisctl binary itself: [`binary`] ([`irisctl`]).
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod binary;
pub use binary::irisctl;

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::StackStatus;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use irisctl::aws::endpoint::{self, Service};

/// What to run when a test finds no emulator.
const HOW_TO_START: &str = "start them with `scripts/emulator start && eval \"$(scripts/emulator env)\"`, \
     or run everything with `scripts/test`";

/// How long cleanup waits for a stack to be deleted.
const STACK_DELETE_TIMEOUT: Duration = Duration::from_secs(180);

/// Clients for the emulators, built the way irisctl builds them.
pub struct Aws {
    pub config: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub ecr: aws_sdk_ecr::Client,
}

/// The emulators' clients. Panics, saying what to run, unless every service irisctl uses
/// resolves to a loopback endpoint that accepts connections: no test ever reaches a real
/// account, and a test without its emulators fails loudly instead of passing.
pub async fn emulators() -> Aws {
    let config = irisctl::aws::sdk_config().await;
    let off = endpoint::off_machine(&config, &Service::ALL);
    if !off.is_empty() {
        let listed: Vec<String> = off
            .iter()
            .map(|(service, url)| {
                format!(
                    "{} -> {}",
                    service.id(),
                    url.as_deref().unwrap_or("real AWS (no endpoint override)")
                )
            })
            .collect();
        panic!(
            "refusing to run: these services would not go to a local emulator: {}. The \
             emulator tests only run against loopback endpoints; {HOW_TO_START}.",
            listed.join(", ")
        );
    }
    for service in [Service::CloudFormation, Service::Ecr] {
        let url = endpoint::resolved(&config, service).unwrap_or_default();
        assert_listening(service, &url);
    }
    Aws {
        s3: irisctl::aws::s3(&config),
        cfn: irisctl::aws::cloudformation(&config),
        ecr: irisctl::aws::ecr(&config),
        config,
    }
}

fn assert_listening(service: Service, url: &str) {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let reachable = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "nothing answers at {url} ({} endpoint): the emulators are not running; {HOW_TO_START}.",
        service.id()
    );
}

/// A name no other test (or run) uses, valid as an S3 bucket, CloudFormation stack and ECR
/// repository name: lowercase letters, digits and single hyphens, starting with a letter,
/// at most 63 characters. Built from the test's name (readable in the emulator), the
/// process id, the clock and a counter (unique across parallel tests and runs).
pub fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let suffix = format!(
        "{:x}-{:x}-{count}",
        std::process::id(),
        (nanos as u64) & 0xff_ffff_ffff
    );
    let mut stem = String::from("it-");
    for ch in test.chars() {
        let ch = ch.to_ascii_lowercase();
        let ch = if ch.is_ascii_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && stem.ends_with('-')) {
            stem.push(ch);
        }
    }
    let room = 63 - suffix.len() - 1;
    stem.truncate(room);
    let stem = stem.trim_end_matches('-');
    format!("{stem}-{suffix}")
}

/// A `local-*` env name no other test (or run) uses: `local-<tag><pid><clock><counter>`,
/// short enough for the env's bucket name (at most 63 characters).
pub fn unique_env(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "local-{tag}{:x}{:x}{count}",
        std::process::id(),
        nanos % 0xffff_ffff
    )
}

/// A finished command's exit status, stdout and stderr, for assertion messages.
pub fn describe_output(out: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Something a test created that must not outlive it.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A bucket: every object version and delete marker, then the bucket.
    Bucket(String),
    /// A stack, waited for until it is gone.
    Stack(String),
    /// An ECR repository with all its images.
    Repository(String),
}

/// Deletes, newest first, everything registered with it: explicitly with
/// [`Cleanup::run`] (errors fail the test), or when dropped, also when the test panicked
/// (errors are printed; a leftover is named so it can be removed by hand).
#[derive(Default)]
pub struct Cleanup {
    resources: Vec<Resource>,
}

impl Cleanup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a resource before (or right after) creating it.
    pub fn add(&mut self, resource: Resource) {
        self.resources.push(resource);
    }

    /// Delete everything now, newest first; the first error is returned after every
    /// resource was tried.
    pub async fn run(&mut self, aws: &Aws) -> Result<(), String> {
        let mut first_error = None;
        while let Some(resource) = self.resources.pop() {
            if let Err(err) = delete(aws, &resource).await {
                first_error.get_or_insert(format!("cleanup of {resource:?} failed: {err}"));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.resources.is_empty() {
            return;
        }
        let mut leftover = std::mem::take(&mut self.resources);
        // Drop runs inside the test's runtime, which cannot be blocked on: a fresh
        // runtime on its own thread, with fresh clients (pooled connections of the old
        // runtime would never be driven).
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| format!("no runtime for cleanup: {err}"))?;
            runtime.block_on(async move {
                let aws = emulators().await;
                let mut cleanup = Cleanup {
                    resources: std::mem::take(&mut leftover),
                };
                cleanup.run(&aws).await
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("test cleanup: {err}"),
            Err(_) => eprintln!("test cleanup panicked; resources may be left in the emulators"),
        }
    }
}

async fn delete(aws: &Aws, resource: &Resource) -> Result<(), String> {
    match resource {
        Resource::Bucket(name) => empty_and_delete_bucket(&aws.s3, name).await,
        Resource::Stack(name) => delete_stack(&aws.cfn, name).await,
        Resource::Repository(name) => delete_repository(&aws.ecr, name).await,
    }
}

/// Every version and delete marker (1,000 per call, the S3 limit), then the bucket. A
/// bucket that does not exist is already clean.
pub async fn empty_and_delete_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), String> {
    loop {
        let listed = match s3.list_object_versions().bucket(bucket).send().await {
            Ok(listed) => listed,
            Err(err) if is_no_such_bucket(&err) => return Ok(()),
            Err(err) => return Err(format!("listing versions of {bucket}: {err:?}")),
        };
        let mut ids = Vec::new();
        for (key, version) in listed
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                listed
                    .delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
        {
            let id = ObjectIdentifier::builder()
                .key(key.unwrap_or_default())
                .set_version_id(version.map(str::to_owned))
                .build()
                .map_err(|err| format!("object id in {bucket}: {err}"))?;
            ids.push(id);
        }
        if ids.is_empty() {
            break;
        }
        for batch in ids.chunks(1000) {
            let delete = Delete::builder()
                .set_objects(Some(batch.to_vec()))
                .quiet(true)
                .build()
                .map_err(|err| format!("delete request for {bucket}: {err}"))?;
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|err| format!("deleting versions in {bucket}: {err:?}"))?;
            if !out.errors().is_empty() {
                return Err(format!("deleting versions in {bucket}: {:?}", out.errors()));
            }
        }
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) if is_no_such_bucket(&err) => Ok(()),
        Err(err) => Err(format!("deleting bucket {bucket}: {err:?}")),
    }
}

fn is_no_such_bucket<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "NoSuchBucket")
}

/// Poll a stack (4 times a second) until it leaves every *_IN_PROGRESS state, and return
/// it as last described. Not the SDK's waiters: those poll no faster than every 30 s,
/// which would make every stack test take at least half a minute.
pub async fn settled_stack(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    timeout: Duration,
) -> Result<aws_sdk_cloudformation::types::Stack, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|err| format!("describing stack {stack}: {err:?}"))?;
        let current = described
            .stacks()
            .first()
            .cloned()
            .ok_or_else(|| format!("stack {stack} not found"))?;
        let status = current.stack_status().map(|s| s.as_str().to_owned());
        if !status
            .as_deref()
            .is_some_and(|s| s.ends_with("_IN_PROGRESS"))
        {
            return Ok(current);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "stack {stack} still {status:?} after {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Delete a stack and wait until it is gone. A stack that does not exist is clean.
///
/// Not the SDK waiter: LocalStack passes through DELETE_FAILED on its way to
/// DELETE_COMPLETE when a resource of a failed create never existed, and the waiter takes
/// DELETE_FAILED as final. A DELETE_FAILED that lasts is retried once per second, as a
/// person would, until the timeout.
pub async fn delete_stack(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Result<(), String> {
    let stack_id = match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => match out.stacks().first().and_then(|s| s.stack_id()) {
            Some(id) => id.to_owned(),
            None => return Ok(()),
        },
        Err(err) if format!("{err:?}").contains("does not exist") => return Ok(()),
        Err(err) => return Err(format!("describing stack {stack}: {err:?}")),
    };
    let deadline = Instant::now() + STACK_DELETE_TIMEOUT;
    let mut last_delete: Option<Instant> = None;
    loop {
        // By id: a deleted stack stays describable by id, not by name.
        let status = cfn
            .describe_stacks()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|err| format!("describing stack {stack}: {err:?}"))?
            .stacks()
            .first()
            .and_then(|s| s.stack_status().cloned());
        match status {
            None | Some(StackStatus::DeleteComplete) => return Ok(()),
            Some(StackStatus::DeleteInProgress) => {}
            Some(_) if last_delete.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) => {
                cfn.delete_stack()
                    .stack_name(&stack_id)
                    .send()
                    .await
                    .map_err(|err| format!("deleting stack {stack}: {err:?}"))?;
                last_delete = Some(Instant::now());
            }
            Some(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "stack {stack} still {status:?} after {} s",
                STACK_DELETE_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Delete a repository with its images. A repository that does not exist is clean.
pub async fn delete_repository(ecr: &aws_sdk_ecr::Client, repo: &str) -> Result<(), String> {
    match ecr
        .delete_repository()
        .repository_name(repo)
        .force(true)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(format!("deleting repository {repo}: {err:?}")),
    }
}

/// A temporary envs dir: a copy of the repo's env files plus `env`, a copy of local.yaml,
/// so each test deploys its own emulator env and tests can run in parallel.
pub fn envs_dir_with_emulator_env(env: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    for entry in std::fs::read_dir(&repo).expect("environments/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::copy(
        repo.join("local.yaml"),
        dir.path().join(format!("{env}.yaml")),
    )
    .expect("copy");
    dir
}

/// Small but well-formed deploy artifacts in `dir`: `model/` (model.bin = `model` plus a
/// manifest naming its sha256) and `package/lambda.zip` (a real zip whose bootstrap only
/// exits: for tests of the stacks, which never invoke the function; tests/emulator/function_runs.rs
/// deploys the real package). Returns (model dir, package dir).
pub fn fake_artifacts(
    dir: &std::path::Path,
    model: &[u8],
) -> (std::path::PathBuf, std::path::PathBuf) {
    use sha2::Digest;
    let model_dir = dir.join("model");
    let package_dir = dir.join("package");
    std::fs::create_dir_all(&model_dir).expect("mkdir");
    std::fs::create_dir_all(&package_dir).expect("mkdir");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("zip entry");
    std::io::Write::write_all(&mut zip, b"#!/bin/sh\nexit 1\n").expect("zip write");
    let zip = zip.finish().expect("zip finish").into_inner();
    std::fs::write(package_dir.join("lambda.zip"), zip).expect("zip");
    std::fs::write(model_dir.join("model.bin"), model).expect("model");
    let sha = hex::encode(sha2::Sha256::digest(model));
    let mut manifest = serde_json::json!({
        "schema_version": iris_model::manifest::SCHEMA_VERSION,
        "sha256": sha,
    });
    iris_model::checksum::seal(&mut manifest);
    std::fs::write(model_dir.join("manifest.json"), manifest.to_string()).expect("manifest");
    (model_dir, package_dir)
}

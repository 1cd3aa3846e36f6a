//! `irisctl image build --out DIR`: the function as an OCI image layout in DIR, built
//! from the same `bootstrap` `irisctl package` zips (the same cargo build, so the same
//! sha256), with no container daemon. `irisctl image push --env ENV`: that layout into
//! the env's ECR repository (from its storage stack's outputs), by digest.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::aws::cloudformation::Cfn;
use crate::aws::ecr::Ecr;
use crate::contract::storage;
use crate::exit::Status;
use crate::image::push::Pushed;
use crate::naming::StackKind;
use crate::{aws, package};

/// Where `image build` writes and `image push` reads when no directory is given.
pub const DEFAULT_LAYOUT: &str = "dist/image";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the OCI image layout (oci-layout, index.json, blobs/) of the function.
    Build(BuildArgs),
    /// Push an image layout to the env's ECR repository by digest (only the blobs it lacks).
    Push(PushArgs),
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    /// The OCI image layout to push (from `irisctl image build --out DIR`).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_LAYOUT)]
    pub image: PathBuf,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Directory for the OCI image layout (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Put this prebuilt bootstrap in the image instead of building one (it must be
    /// static: the image has no C library).
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Never run `rustup target add`; use the musl target only if already installed.
    #[arg(long)]
    pub no_rustup: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.command {
        Command::Build(args) => build(args),
        Command::Push(args) => session::runtime()?.block_on(push(args)),
    }
}

async fn push(args: PushArgs) -> anyhow::Result<Status> {
    // The layout is checked before any AWS call: a damaged one changes nothing.
    let layout = crate::image::layout::read(&args.image)
        .with_context(|| format!("reading the image layout {}", args.image.display()))?;
    let session = Session::open(&args.target).await?;
    let pushed = push_to_env(&session, &layout).await?;
    if args.output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&pushed).context("writing JSON")?
        );
    } else {
        print_pushed(&pushed, &args.image);
    }
    Ok(Status::Success)
}

/// Pushes `layout` into the repository the env's storage stack names; deploy pushes the
/// same way.
pub async fn push_to_env(
    session: &Session,
    layout: &crate::image::layout::Layout,
) -> anyhow::Result<Pushed> {
    let storage_stack = session.config.names.stack(StackKind::Storage).to_owned();
    let stack = Cfn::new(aws::cloudformation(&session.sdk))
        .describe(&storage_stack)
        .await?
        .with_context(|| {
            format!(
                "env `{}` has no storage stack ({storage_stack}), so no repository to push to; run `irisctl deploy --env {}` first",
                session.config.env, session.config.env
            )
        })?;
    let output = |name: &str| {
        stack.outputs.get(name).cloned().with_context(|| {
            format!("stack {storage_stack} has no {name} output; run `irisctl deploy --env {}` to bring it up to date", session.config.env)
        })
    };
    let repository = output(storage::REPOSITORY_NAME)?;
    let repository_uri = output(storage::REPOSITORY_URI)?;
    let ecr = Ecr::new(aws::ecr(&session.sdk));
    crate::image::push::push(&ecr, &repository, &repository_uri, layout, &|line| {
        eprintln!("{line}")
    })
    .await
    .with_context(|| format!("pushing the image to repository {repository}"))
}

fn print_pushed(pushed: &Pushed, dir: &Path) {
    println!("pushed {} to {}", dir.display(), pushed.repository_uri);
    println!("digest {}", pushed.digest);
    println!("tag {}", pushed.tag);
    println!("image {}", pushed.image_uri);
    println!(
        "blobs: {} uploaded, {} already there; {} bytes sent",
        pushed.uploaded.len(),
        pushed.skipped.len(),
        pushed.bytes_sent
    );
}

fn build(args: BuildArgs) -> anyhow::Result<Status> {
    let bootstrap = match args.bootstrap {
        Some(path) => path,
        None => {
            let workspace = package::build::workspace_root()?;
            let Some(target) = package::build::choose_target(!args.no_rustup) else {
                bail!(
                    "image build needs the static ({}) bootstrap: the image holds no C library. Install musl-tools and the {} target (`apt-get install musl-tools`, `rustup target add {}`), or pass --bootstrap PATH to a static build",
                    package::build::MUSL,
                    package::build::MUSL,
                    package::build::MUSL
                );
            };
            package::build::build_bootstrap(&workspace, Some(target))
                .context("building the Lambda bootstrap")?
        }
    };
    let binary = std::fs::read(&bootstrap)
        .with_context(|| format!("reading the bootstrap binary {}", bootstrap.display()))?;
    let linkage = package::elf::inspect(&binary)
        .with_context(|| format!("inspecting {}", bootstrap.display()))?;
    if linkage != package::elf::Linkage::Static {
        bail!(
            "{} is {linkage}; the image has no C library, so it needs a static (musl) build: run `irisctl image build` without --bootstrap on a machine with musl-tools, or pass a static binary",
            bootstrap.display()
        );
    }
    let revision = super::version::git_commit().unwrap_or("unknown");
    let built = crate::image::build(&binary, revision, &args.out)
        .with_context(|| format!("writing the image layout in {}", args.out.display()))?;
    if args.output.is_json() {
        let report = serde_json::json!({
            "layout": built.dir.display().to_string(),
            "manifest_digest": built.manifest_digest,
            "config_digest": built.config_digest,
            "layer_digest": built.layer_digest,
            "code_sha256": built.code_sha256,
            "revision": revision,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        return Ok(Status::Success);
    }
    println!(
        "bootstrap: {} (sha256 {})",
        bootstrap.display(),
        built.code_sha256
    );
    println!("wrote the OCI image layout {}", built.dir.display());
    println!("image digest {}", built.manifest_digest);
    Ok(Status::Success)
}

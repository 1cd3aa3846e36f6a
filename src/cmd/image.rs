//! `irisctl image build --out DIR`: the function as an OCI image layout in DIR, built
//! from the same `bootstrap` `irisctl package` zips (the same cargo build, so the same
//! sha256), with no container daemon.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::args::OutputFormat;
use crate::exit::Status;
use crate::package;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the OCI image layout (oci-layout, index.json, blobs/) of the function.
    Build(BuildArgs),
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
    }
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

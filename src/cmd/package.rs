//! `irisctl package --out DIR`: build the Lambda's bootstrap and write DIR/lambda.zip and
//! DIR/lambda.zip.sha256.

use std::path::PathBuf;

use anyhow::Context as _;

use super::args::OutputFormat;
use crate::exit::Status;
use crate::package;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for lambda.zip and lambda.zip.sha256 (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Zip this prebuilt bootstrap instead of building one (still checked for Amazon
    /// Linux 2023 compatibility).
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Never run `rustup target add`; use the musl target only if already installed.
    #[arg(long)]
    pub no_rustup: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let bootstrap = match args.bootstrap {
        Some(path) => path,
        None => {
            let workspace = package::build::workspace_root()?;
            let target = package::build::choose_target(!args.no_rustup);
            package::build::build_bootstrap(&workspace, target)
                .context("building the Lambda bootstrap")?
        }
    };
    let packaged = package::write_package(&bootstrap, &args.out)?;
    if args.output.is_json() {
        let report = serde_json::json!({
            "bootstrap": bootstrap.display().to_string(),
            "linkage": packaged.linkage.to_string(),
            "zip": packaged.zip_path.display().to_string(),
            "zip_bytes": packaged.zip_bytes,
            "sha256": packaged.sha256,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        return Ok(Status::Success);
    }
    println!("bootstrap: {} ({})", bootstrap.display(), packaged.linkage);
    println!(
        "wrote {} ({:.2} MB)",
        packaged.zip_path.display(),
        packaged.zip_bytes as f64 / 1_000_000.0
    );
    println!("sha256 {}", packaged.sha256);
    Ok(Status::Success)
}

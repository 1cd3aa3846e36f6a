//! `irisctl man [--out DIR]`: roff man pages generated from the same clap definitions the
//! parser uses. With `--out`, one page per command (irisctl.1, irisctl-deploy.1,
//! irisctl-config-show.1, ...); without, the top-level page on stdout (`irisctl man | man -l -`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write one page per command into this directory (created if missing) and print
    /// their paths, instead of the top-level page on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `command` is the whole CLI (`Cli::command()` in main.rs).
pub fn run(args: Args, command: clap::Command) -> anyhow::Result<Status> {
    let Some(dir) = args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .context("rendering the man page")?;
        std::io::stdout()
            .lock()
            .write_all(&page)
            .context("writing the man page to stdout")?;
        return Ok(Status::Success);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut written = Vec::new();
    write_pages(command, &dir, &mut written)?;
    written.sort();
    let mut out = std::io::stdout().lock();
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    Ok(Status::Success)
}

/// One page for `command` and one for each subcommand, recursively; clap names them like
/// git's (`irisctl-config-show.1`) once the command is built. clap_mangen's own
/// `generate_to` does the same but returns nothing, and a user wants to know where the
/// pages went.
fn write_pages(
    command: clap::Command,
    dir: &std::path::Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    let name = command.get_name().to_owned();
    let path = clap_mangen::Man::new(command)
        .generate_to(dir)
        .with_context(|| format!("writing the man page of `{name}` into {}", dir.display()))?;
    written.push(path);
    Ok(())
}

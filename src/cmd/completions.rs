//! `irisctl completions SHELL`: a completion script for the shell, generated from the same
//! clap definitions the parser uses, so it always knows every subcommand and option.

use std::io::Write;

use anyhow::Context;
use clap_complete::Shell;

use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Write the script for `args.shell` to stdout. `command` is the whole CLI
/// (`Cli::command()` in main.rs: the library does not know the top-level parser).
pub fn run(args: Args, mut command: clap::Command) -> anyhow::Result<Status> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .with_context(|| format!("writing the {} completion script to stdout", args.shell))?;
    Ok(Status::Success)
}

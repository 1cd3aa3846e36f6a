//! The irisctl command line: parses arguments, calls the library, maps outcomes to the
//! stable exit codes in `irisctl::exit`. No logic lives here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use irisctl::cmd;

#[derive(Parser)]
#[command(name = "irisctl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version and build information.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Version => cmd::version::run(),
    };
    irisctl::exit::report(outcome)
}

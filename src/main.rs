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
    /// Render an env's CloudFormation templates, one file per stack.
    Render(cmd::render::Args),
    /// Check an env's templates: references resolve, parameters are used, policy holds.
    Validate(cmd::validate::Args),
    /// Inspect an env's resolved configuration.
    Config(cmd::config::Args),
    /// Build the Lambda bootstrap and write a reproducible lambda.zip + sha256.
    Package(cmd::package::Args),
    /// Run the function locally (Lambda Runtime API + API Gateway front on 127.0.0.1).
    Local(cmd::local::Args),
    /// Once per account and region: the API Gateway logging role every env's stage needs.
    Bootstrap(cmd::bootstrap::Args),
    /// Create or update an env's stacks (storage, auth, service), uploading the artifacts.
    Deploy(cmd::deploy::Args),
    /// Show what deploy would change (change sets, deleted afterwards).
    Plan(cmd::plan::Args),
    /// Continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED.
    Recover(cmd::recover::Args),
    /// Delete an env: empty its buckets and repository, delete its stacks (service, auth, storage).
    Destroy(cmd::destroy::Args),
    /// Show an env: stack states, template drift, live model, API URL, lock holder.
    Status(cmd::status::Args),
    /// Print every output of an env's stacks.
    Outputs(cmd::status::Args),
    /// Destroy ephemeral envs whose expiry passed (or older than --older-than).
    Gc(cmd::gc::Args),
    /// Remove an env's lock left behind by a run that died.
    Unlock(cmd::unlock::Args),
}

fn main() -> ExitCode {
    // clap exits 2 on a usage error, but 2 means "changes pending" to CI scripts that run
    // `plan --detailed-exitcode`: a typo must never read as a pending change.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" that print to stdout and succeed.
            let code = if err.use_stderr() {
                irisctl::exit::ERROR
            } else {
                irisctl::exit::SUCCESS
            };
            // Printing can only fail on a closed stream; nothing useful is left to say then.
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let outcome = match cli.command {
        Command::Version => cmd::version::run(),
        Command::Render(args) => cmd::render::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Package(args) => cmd::package::run(args),
        Command::Local(args) => cmd::local::run(args),
        Command::Bootstrap(args) => cmd::bootstrap::run(args),
        Command::Deploy(args) => cmd::deploy::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Recover(args) => cmd::recover::run(args),
        Command::Unlock(args) => cmd::unlock::run(args),
        Command::Destroy(args) => cmd::destroy::run(args),
        Command::Gc(args) => cmd::gc::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Outputs(args) => cmd::status::run_outputs(args),
    };
    irisctl::exit::report(outcome)
}

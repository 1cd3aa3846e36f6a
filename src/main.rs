//! The irisctl command line: parses arguments, calls the library, maps outcomes to the
//! stable exit codes in `irisctl::exit`. No logic lives here.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use irisctl::cmd;

#[derive(Parser)]
#[command(
    name = "irisctl",
    version = cmd::version::one_line(),
    about,
    long_about = None,
    after_help = "Examples:
  irisctl deploy --env dev --model .demo/model --package .demo/package
  irisctl status --env dev
  irisctl COMMAND --help"
)]
struct Cli {
    /// Show the AWS SDK's own error chain (its debug form) with every failed call.
    #[arg(long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Command,
}

// Each command's examples sit next to its one-line description, so the whole surface of
// the CLI reads in one place; `tests/cli.rs` checks every command has some.
#[derive(Subcommand)]
enum Command {
    /// Print the version and build information (git commit, profile, target).
    #[command(after_help = "Examples:
  irisctl version
  irisctl version --output json | jq -r .commit")]
    Version(cmd::version::Args),
    /// Render an env's CloudFormation templates, one file per stack.
    #[command(after_help = "Examples:
  irisctl render --env dev --out build/templates
  irisctl render --env pr-123 --out /tmp/pr-123 --envs-dir environments")]
    Render(cmd::render::Args),
    /// Check an env's templates: references resolve, parameters are used, policy holds.
    #[command(after_help = "Examples:
  irisctl validate --env staging
  irisctl validate --all-envs")]
    Validate(cmd::validate::Args),
    /// Inspect an env's resolved configuration.
    #[command(after_help = "Examples:
  irisctl config show --env dev
  irisctl config show --env pr-42 --output json")]
    Config(cmd::config::Args),
    /// Build the Lambda bootstrap and write a reproducible lambda.zip + sha256.
    #[command(after_help = "Examples:
  irisctl package --out .demo/package
  irisctl package --out dist --no-rustup")]
    Package(cmd::package::Args),
    /// Build the function as an OCI image layout without a container daemon; push it to
    /// an env's ECR repository by digest.
    #[command(after_help = "Examples:
  irisctl image build --out .demo/image
  irisctl image build --out dist/image --bootstrap target/x86_64-unknown-linux-musl/lambda/bootstrap
  irisctl image push --env staging --image dist/image")]
    Image(cmd::image::Args),
    /// Run the function locally (Lambda Runtime API + API Gateway front on 127.0.0.1).
    #[command(after_help = "Examples:
  irisctl local serve --zip .demo/package/lambda.zip --model .demo/model
  irisctl local serve --bootstrap target/debug/bootstrap --model .demo/model --port 0")]
    Local(cmd::local::Args),
    /// Once per account and region: the API Gateway logging role every env's stage needs
    /// (and on request CI access: GitHub's OIDC provider, per-env deploy roles).
    #[command(after_help = "Examples:
  irisctl bootstrap --region eu-west-1 --output json
  irisctl bootstrap --region us-east-1 --render-to out/account
  irisctl bootstrap --region us-east-1 --github-oidc acme/iris")]
    Bootstrap(cmd::bootstrap::Args),
    /// The AWS-native delivery pipeline (CodePipeline + CodeBuild): staging, approval, prod.
    #[command(after_help = "Examples:
  irisctl pipeline render --out build/pipeline
  irisctl pipeline deploy --env prod --repository acme/iris --connection-arn ARN")]
    Pipeline(cmd::pipeline::Args),
    /// Read-only checks of the env's account before a deploy (each pass, warn or fail).
    #[command(after_help = "Examples:
  irisctl preflight --env dev
  irisctl preflight --env prod --output json | jq '.checks[] | select(.result != \"pass\")'")]
    Preflight(cmd::preflight::Args),
    /// Create or update an env's stacks (storage, auth, service), uploading the artifacts.
    #[command(after_help = "Examples:
  irisctl deploy --env dev --model .demo/model --package .demo/package
  irisctl deploy --env local --yes --output json
  irisctl deploy --env prod --yes --timeout 45m --lock-timeout 5m")]
    Deploy(cmd::deploy::Args),
    /// Show what deploy would change (change sets, deleted afterwards).
    #[command(after_help = "Examples:
  irisctl plan --env staging
  irisctl plan --env prod --detailed-exitcode --model .demo/model --package .demo/package
  irisctl plan --env pr-42 --output markdown > plan.md")]
    Plan(cmd::plan::Args),
    /// Continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED.
    #[command(after_help = "Examples:
  irisctl recover --env staging
  irisctl recover --env staging --skip Function --yes")]
    Recover(cmd::recover::Args),
    /// Delete an env: empty its buckets and repository, delete its stacks (service, auth, storage).
    #[command(after_help = "Examples:
  irisctl destroy --env pr-42 --yes
  irisctl destroy --env prod --force-protected
  irisctl destroy --env local --yes --output json")]
    Destroy(cmd::destroy::Args),
    /// Show an env: stack states, template drift, live and previous release, API URL, lock holder.
    #[command(after_help = "Examples:
  irisctl status --env dev
  irisctl status --env dev --output json | jq .lock")]
    Status(cmd::status::Args),
    /// Print an access token for an env's machine client (Cognito, or local serve's issuer).
    #[command(after_help = "Examples:
  irisctl token --env dev
  irisctl token --env dev --local --output json | jq -r .access_token")]
    Token(cmd::token::Args),
    /// The stage gate: golden set, auth refusals, validation, live model, latency.
    Smoke(cmd::smoke::Args),
    /// The env's API as an OpenAPI 3 document (from its rendered template); --compare checks the deployed stage.
    #[command(after_help = "Examples:
  irisctl openapi --env dev --out openapi.json
  irisctl openapi --env dev --compare > /dev/null")]
    Openapi(cmd::openapi::Args),
    /// Print every output of an env's stacks.
    #[command(after_help = "Examples:
  irisctl outputs --env dev
  irisctl outputs --env dev --output json | jq -r '.[\"iris-dev-service\"].ApiUrl'")]
    Outputs(cmd::status::Args),
    /// Score a file of flowers through the deployed function (S3 batch/in/ -> batch/out/).
    #[command(after_help = "Examples:
  irisctl batch submit --env local flowers.csv --wait
  irisctl batch get --env local flowers.csv")]
    Batch(cmd::batch::Args),
    /// An env's models: push one, list them, roll back, promote one from another env.
    #[command(after_help = "Examples:
  irisctl model push --env dev --model out/
  irisctl model rollback --env dev
  irisctl model promote --from staging --to prod --yes")]
    Model(cmd::model::Args),
    /// A new release's rollout: where it stands, continue it, or stop it.
    #[command(after_help = "Examples:
  irisctl rollout status --env prod
  irisctl rollout resume --env prod --yes
  irisctl rollout abort --env prod")]
    Rollout(cmd::rollout::Args),
    /// The env's dead-letter queue: failed asynchronous invocations, and sending them again.
    #[command(after_help = "Examples:
  irisctl dlq list --env local
  irisctl dlq redrive --env local --all")]
    Dlq(cmd::dlq::Args),
    /// Destroy ephemeral envs whose expiry passed (or older than --older-than).
    #[command(after_help = "Examples:
  irisctl gc --dry-run
  irisctl gc --older-than 72h")]
    Gc(cmd::gc::Args),
    /// Remove an env's lock left behind by a run that died.
    #[command(after_help = "Examples:
  irisctl unlock --env staging")]
    Unlock(cmd::unlock::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = "Examples:
  irisctl completions bash > ~/.local/share/bash-completion/completions/irisctl
  irisctl completions zsh > ~/.zfunc/_irisctl
  irisctl completions fish > ~/.config/fish/completions/irisctl.fish")]
    Completions(cmd::completions::Args),
    /// Write the man pages (one per command with --out, else the main page on stdout).
    #[command(after_help = "Examples:
  irisctl man | man -l -
  irisctl man --out share/man/man1")]
    Man(cmd::man::Args),
}

/// `irisctl __parse-only ARGS...` parses ARGS exactly as `irisctl ARGS...` would and stops
/// there: exit 0 when they parse, 1 with clap's message when they do not, nothing run.
/// scripts/check-workflows checks every irisctl line of the CI workflows with it, so a
/// renamed flag fails here instead of in a pipeline. Hidden: not a command for people.
const PARSE_ONLY: &str = "__parse-only";

fn parse_only(args: &[OsString]) -> ExitCode {
    let argv = std::iter::once(OsString::from("irisctl")).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => {
            eprintln!("irisctl {PARSE_ONLY}: the arguments parse");
            ExitCode::from(irisctl::exit::SUCCESS)
        }
        Err(err) => {
            // Help or version requested: those parse too, but are not a command line.
            let code = if err.use_stderr() {
                irisctl::exit::ERROR
            } else {
                irisctl::exit::SUCCESS
            };
            let _ = err.print();
            ExitCode::from(code)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|first| first == PARSE_ONLY) {
        return parse_only(&args[1..]);
    }
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
    irisctl::aws::set_debug(cli.debug);
    let outcome = match cli.command {
        Command::Version(args) => cmd::version::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Package(args) => cmd::package::run(args),
        Command::Local(args) => cmd::local::run(args),
        Command::Image(args) => cmd::image::run(args),
        Command::Bootstrap(args) => cmd::bootstrap::run(args),
        Command::Pipeline(args) => cmd::pipeline::run(args),
        Command::Preflight(args) => cmd::preflight::run(args),
        Command::Deploy(args) => cmd::deploy::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Recover(args) => cmd::recover::run(args),
        Command::Unlock(args) => cmd::unlock::run(args),
        Command::Destroy(args) => cmd::destroy::run(args),
        Command::Gc(args) => cmd::gc::run(args),
        Command::Batch(args) => cmd::batch::run(args),
        Command::Dlq(args) => cmd::dlq::run(args),
        Command::Model(args) => cmd::model::run(args),
        Command::Rollout(args) => cmd::rollout::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Outputs(args) => cmd::status::run_outputs(args),
        Command::Token(args) => cmd::token::run(args),
        Command::Smoke(args) => cmd::smoke::run(args),
        Command::Openapi(args) => cmd::openapi::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
        Command::Man(args) => cmd::man::run(args, Cli::command()),
    };
    irisctl::exit::report(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every option and positional of every command, nested ones included, explains itself
    /// (hidden aliases aside).
    #[test]
    fn every_argument_has_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut missing = Vec::new();
        walk(&command, "irisctl", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}

//! `irisctl config show --env ENV`: every resolved value and where it came from.

use std::io::Write;

use crate::exit::Status;

use super::args::{EnvArgs, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print every resolved setting of an env with its source (default, file:line:column,
    /// or derived).
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  irisctl config show --env dev
  irisctl config show --env pr-42 --output json | jq '.[] | select(.key == \"ttl_hours\")'")]
pub struct ShowArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
    /// The old spelling of `--output json`, before every command took `--output`: hidden
    /// from help, kept so scripts written against it keep working.
    #[arg(long, hide = true, conflicts_with = "output")]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.command {
        ConfigCommand::Show(show) => {
            let config = show.target.load()?;
            let entries = config.entries();
            if show.json || show.output.is_json() {
                let rows: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "key": e.key,
                            "value": e.value,
                            "source": e.source.to_string(),
                        })
                    })
                    .collect();
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string_pretty(&rows)?
                )?;
            } else {
                let key_width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
                let value_width = entries
                    .iter()
                    .map(|e| e.value.len())
                    .max()
                    .unwrap_or(0)
                    .min(48);
                // Written (not println!) so a closed pipe (`| head`) ends quietly instead of
                // panicking.
                let mut out = std::io::stdout().lock();
                for e in &entries {
                    let line = format!(
                        "{:key_width$}  {:value_width$}  {}",
                        e.key, e.value, e.source
                    );
                    if let Err(err) = writeln!(out, "{}", line.trim_end()) {
                        if err.kind() == std::io::ErrorKind::BrokenPipe {
                            break;
                        }
                        return Err(err.into());
                    }
                }
            }
            Ok(Status::Success)
        }
    }
}

//! `irisctl config show --env ENV`: every resolved value and where it came from.

use std::io::Write;

use crate::exit::Status;

use super::render::EnvsDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print every resolved setting of an env with its source (default, file:line:column,
    /// or derived).
    Show {
        #[arg(long)]
        env: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        envs: EnvsDir,
    },
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.command {
        ConfigCommand::Show { env, json, envs } => {
            let config = envs.load(&env)?;
            let entries = config.entries();
            if json {
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

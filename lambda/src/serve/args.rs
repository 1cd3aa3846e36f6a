//! The arguments of `bootstrap serve`, parsed by hand: the function binary carries no
//! argument parser, and this surface is two flags.

use std::path::PathBuf;

use super::DEFAULT_PORT;

pub const USAGE: &str = "usage: bootstrap serve [--port P] [--model DIR]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    pub port: u16,
    pub model: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}\n{USAGE}")]
pub struct UsageError(String);

impl ServeArgs {
    /// Parses what follows `serve`: `--port P`, `--port=P`, `--model DIR`, `--model=DIR`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<ServeArgs, UsageError> {
        let mut out = ServeArgs {
            port: DEFAULT_PORT,
            model: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = |flag: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| UsageError(format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--port" => {
                    let raw = value("--port")?;
                    out.port = raw.parse().map_err(|_| {
                        UsageError(format!(
                            "--port {raw:?} is not a port number (0 to 65535; 0 picks a free one)"
                        ))
                    })?;
                }
                "--model" => out.model = Some(PathBuf::from(value("--model")?)),
                other => {
                    return Err(UsageError(format!(
                        "unexpected argument {:?}",
                        crate::error::clip(other)
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ServeArgs, UsageError> {
        ServeArgs::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_both_spellings() {
        assert_eq!(
            parse(&[]),
            Ok(ServeArgs {
                port: 8080,
                model: None
            })
        );
        let both = parse(&["--port", "9000", "--model=/m"]).expect("valid");
        assert_eq!(both.port, 9000);
        assert_eq!(both.model, Some(PathBuf::from("/m")));
        assert_eq!(parse(&["--port=0"]).expect("valid").port, 0);
    }

    #[test]
    fn bad_arguments_are_named_with_the_usage() {
        for (args, needle) in [
            (&["--port"][..], "--port needs a value"),
            (&["--port", "http"], "not a port number"),
            (&["--port", "70000"], "not a port number"),
            (&["--model"], "--model needs a value"),
            (&["--model="], "--model needs a value"),
            (&["--verbose"], "unexpected argument \"--verbose\""),
            (&["extra"], "unexpected argument"),
        ] {
            let err = parse(args).expect_err(needle).to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
            assert!(err.ends_with(USAGE), "{err}");
        }
    }
}

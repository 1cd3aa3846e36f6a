//! One module per subcommand: each owns its clap `Args` and a `run` that returns an
//! `exit::Status`. Commands compose library modules; they hold no pipeline logic.

pub mod config;
pub mod local;
pub mod package;
pub mod render;
pub mod validate;
pub mod version;

//! One module per subcommand: each owns its clap `Args` and a `run` that returns an
//! `exit::Status`. Commands compose library modules; they hold no pipeline logic.

pub mod args;
pub mod batch;
pub mod bootstrap;
pub mod completions;
pub mod config;
pub mod deploy;
pub mod destroy;
pub mod dlq;
pub mod gc;
pub mod image;
pub mod local;
pub mod local_contract;
pub mod man;
pub mod model;
pub mod openapi;
pub mod package;
pub mod pipeline;
pub mod plan;
pub mod preflight;
pub mod recover;
pub mod render;
pub mod rollout;
pub mod session;
pub mod smoke;
pub mod status;
pub mod token;
pub mod unlock;
pub mod validate;
pub mod version;

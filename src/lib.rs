//! irisctl as a library: the pipeline config → render → plan → deploy → destroy, the last
//! three over one stack layer (`stack`), with thin AWS service wrappers at the edge. The binary (`main.rs`) only parses arguments.

pub mod aws;
pub mod batch;
pub mod bootstrap;
pub mod cmd;
pub mod config;
pub mod contract;
pub mod deploy;
pub mod destroy;
pub mod digest;
pub mod dlq;
pub mod exit;
pub mod gateway;
pub mod gc;
pub mod http;
pub mod image;
pub mod local;
pub mod local_api_url;
pub mod naming;
pub mod package;
pub mod plan;
pub mod preflight;
pub mod recover;
pub mod release;
pub mod render;
pub mod rollout;
pub mod smoke;
pub mod stack;
pub mod token;
pub mod ui;
pub mod validate;

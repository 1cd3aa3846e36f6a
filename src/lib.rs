//! irisctl as a library: the pipeline config → render → plan → apply → destroy, with thin
//! AWS service wrappers at the edge. The binary (`main.rs`) only parses arguments.

pub mod aws;
pub mod cmd;
pub mod config;
pub mod contract;
pub mod destroy;
pub mod digest;
pub mod exit;
pub mod gc;
pub mod local;
pub mod local_api_url;
pub mod naming;
pub mod package;
pub mod reconcile;
pub mod render;
pub mod validate;

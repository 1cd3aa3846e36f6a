//! irisctl as a library: the pipeline config → render → plan → apply → destroy, with thin
//! AWS service wrappers at the edge. The binary (`main.rs`) only parses arguments.

/// AWS wrappers (the emulator branch's `aws/mod.rs` replaces this inline module).
pub mod aws {
    pub mod cloudformation;
    mod interim;
    pub mod s3;
    pub mod sts;
    pub use interim::*;
}
pub mod cmd;
pub mod config;
pub mod exit;
pub mod naming;
pub mod reconcile;
pub mod render;
pub mod validate;

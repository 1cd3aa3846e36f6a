//! Destroy: take an env down to nothing. Empties what CloudFormation cannot delete while
//! it holds data (the versioned model bucket, the log bucket, the ECR repository), then
//! deletes the stacks in reverse order (service → auth → storage) and waits for each.
//! Idempotent: every step treats "already gone" as done, so a rerun after a partial
//! failure finishes the job. Ends with the teardown receipt ([`teardown`]): anything
//! still tagged with the env or named for it ([`look`] gathers, [`receipt`] judges) is
//! named, and the run fails. Must not decide whether destroying is allowed ([`gate`]
//! does, the command asks) nor render templates.

pub mod bucket;
pub mod gate;
pub mod look;
pub mod receipt;
pub mod repository;
pub mod run;
pub mod teardown;

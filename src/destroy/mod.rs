//! Destroy: take an env down to nothing. Empties what CloudFormation cannot delete while
//! it holds data (the versioned model bucket, the log bucket, the ECR repository), then
//! deletes the stacks in reverse order (service → auth → storage) and waits for each.
//! Idempotent: every step treats "already gone" as done, so a rerun after a partial
//! failure finishes the job. Must not decide whether destroying is allowed ([`gate`]
//! does, the command asks) nor render templates.

pub mod bucket;
pub mod gate;
pub mod repository;
pub mod run;

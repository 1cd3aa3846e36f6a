//! `irisctl version`.

use crate::exit::Status;

pub fn run() -> anyhow::Result<Status> {
    println!("irisctl {}", env!("CARGO_PKG_VERSION"));
    Ok(Status::Success)
}

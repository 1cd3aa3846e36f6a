//! Everything irisctl says to the person running it while it works: progress of stack
//! operations and plain messages (stderr, timestamped without a terminal), the time format
//! they share, and asking before a change. Results (text summaries, JSON) are printed by
//! the commands on stdout. Must not decide anything but how to show it.

pub mod approval;
pub mod progress;
pub mod time;

pub use approval::{Approval, Confirm};
pub use progress::{Progress, Ui};

//! gc: find the ephemeral envs whose time is up ([`select`], pure) and destroy each with
//! the same code as `irisctl destroy`. Must not touch an env irisctl did not tag as
//! ephemeral.

pub mod list;
pub mod select;

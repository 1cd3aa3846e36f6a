//! Destroy, then the teardown receipt: the one sequence `irisctl destroy` and `irisctl gc`
//! both run for an env. The REST API's id is read first (the execution log group is named
//! for it, and it cannot be read once the service stack is gone); after a successful
//! destroy the receipt looks for anything left and a receipt that is not clean fails the
//! run with [`Leftovers`]. Must not print (the commands do).

use super::look::{self, Clients, Seen, Settle};
use super::receipt;
use super::run::{DestroyReport, Destroyer, Target};
use crate::config::Config;

/// Destroy finished, but the receipt found something (or could not look everywhere).
/// `irisctl destroy` reports it as outcome `leftovers`; the exit code is 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Leftovers(pub String);

/// Destroy `target` (the env of `config`), then fill `report.receipt`.
pub async fn destroy_and_look(
    destroyer: &Destroyer,
    clients: &Clients,
    config: &Config,
    target: &Target,
    report: &mut DestroyReport,
) -> anyhow::Result<()> {
    let seen = Seen {
        rest_api_id: look::rest_api_id(&destroyer.stacks.cfn, &config.names.service_stack).await,
    };
    destroyer.destroy(target, report).await?;
    destroyer.stacks.ui.say(&format!(
        "env `{}`: looking for anything still tagged with it or named for it",
        config.env
    ));
    let facts = look::gather(clients, config, &seen, Settle::for_env(config)).await;
    let receipt = receipt::receipt(&facts);
    let problem = receipt.problem();
    report.receipt = Some(receipt);
    match problem {
        Some(problem) => Err(Leftovers(problem).into()),
        None => Ok(()),
    }
}

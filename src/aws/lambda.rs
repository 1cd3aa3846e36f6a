//! Lambda's account concurrency (GetAccountSettings) and one function's reservation
//! (GetFunctionConcurrency). Must not decide whether a reservation fits (preflight does).

use aws_sdk_lambda::Client;

use super::error::CallFailed;

/// `AccountLimit` of GetAccountSettings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// `ConcurrentExecutions`: the account's limit in this region.
    pub limit: i32,
    /// `UnreservedConcurrentExecutions`: what no function has reserved.
    pub unreserved: Option<i32>,
}

pub async fn account_concurrency(client: &Client) -> Result<Concurrency, CallFailed> {
    let out = client
        .get_account_settings()
        .send()
        .await
        .map_err(|e| CallFailed::from_sdk("Lambda", "GetAccountSettings", "account", &e))?;
    let limit = out.account_limit();
    Ok(Concurrency {
        limit: limit.map_or(0, |l| l.concurrent_executions()),
        unreserved: limit.and_then(|l| l.unreserved_concurrent_executions()),
    })
}

/// The executions `function` reserves now: `None` when it reserves none or does not
/// exist yet (a first deploy).
pub async fn reserved(client: &Client, function: &str) -> Result<Option<i32>, CallFailed> {
    match client
        .get_function_concurrency()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => Ok(out.reserved_concurrent_executions()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(CallFailed::from_sdk(
            "Lambda",
            "GetFunctionConcurrency",
            function,
            &err,
        )),
    }
}

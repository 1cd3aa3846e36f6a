//! The Lambda calls irisctl makes: the account's concurrency (GetAccountSettings) and one
//! function's reservation (GetFunctionConcurrency) for preflight, synchronous invocations
//! (`RequestResponse`) for `dlq redrive` and a rollout's checks of one version, for
//! releases the function's versions, its alias and deleting a pruned version, and for
//! destroy's receipt whether a function exists and which versions it has. Must not decide which release is live or
//! what to prune (`release` does), whether a reservation fits (preflight does), nor
//! interpret an invocation's payload (cmd::dlq does).

use std::collections::BTreeMap;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

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

/// What a synchronous invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// `Some("Unhandled")` (or another type) when the function failed; its payload then
    /// holds `errorType` and `errorMessage`.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// Invokes `function` (under `qualifier`, a version or alias, when given) with `payload`
/// and waits for its answer.
pub async fn invoke(
    client: &Client,
    function: &str,
    qualifier: Option<&str>,
    payload: Vec<u8>,
) -> Result<Invoked, CallFailed> {
    let target = match qualifier {
        Some(q) => format!("{function}:{q}"),
        None => function.to_owned(),
    };
    let out = client
        .invoke()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_owned))
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| CallFailed::from_sdk("Lambda", "Invoke", &target, &e))?;
    Ok(Invoked {
        function_error: out.function_error().map(str::to_owned),
        payload: out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default(),
    })
}

/// One published version of a function, as ListVersionsByFunction describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// A number, or `$LATEST` (ListVersionsByFunction lists it too).
    pub version: String,
    pub description: String,
    /// The function's environment variables in that version.
    pub environment: BTreeMap<String, String>,
}

/// Every version of `function`, `$LATEST` included, all pages; empty when the function
/// does not exist (ResourceNotFoundException: what a finished destroy must see).
pub async fn versions(client: &Client, function: &str) -> Result<Vec<VersionInfo>, CallFailed> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = match client
            .list_versions_by_function()
            .function_name(function)
            .set_marker(marker.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(Vec::new());
            }
            Err(err) => {
                return Err(CallFailed::from_sdk(
                    "Lambda",
                    "ListVersionsByFunction",
                    function,
                    &err,
                ));
            }
        };
        for v in page.versions() {
            out.push(VersionInfo {
                version: v.version().unwrap_or_default().to_owned(),
                description: v.description().unwrap_or_default().to_owned(),
                environment: v
                    .environment()
                    .and_then(|e| e.variables())
                    .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            });
        }
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Whether `function` (a name or ARN) exists (GetFunction).
pub async fn function_exists(client: &Client, function: &str) -> Result<bool, CallFailed> {
    match client.get_function().function_name(function).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(CallFailed::from_sdk(
            "Lambda",
            "GetFunction",
            function,
            &err,
        )),
    }
}

/// What an alias points at.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasInfo {
    /// A version number or `$LATEST`.
    pub function_version: String,
    /// RoutingConfig's AdditionalVersionWeights: version → share of traffic (0 to 1).
    pub weights: BTreeMap<String, f64>,
}

/// `function`'s alias `name`; `None` when the function or the alias does not exist.
pub async fn alias(
    client: &Client,
    function: &str,
    name: &str,
) -> Result<Option<AliasInfo>, CallFailed> {
    match client
        .get_alias()
        .function_name(function)
        .name(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(AliasInfo {
            function_version: out.function_version().unwrap_or_default().to_owned(),
            weights: out
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default(),
        })),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(CallFailed::from_sdk(
            "Lambda",
            "GetAlias",
            &format!("{function}:{name}"),
            &err,
        )),
    }
}

/// Delete one published version (DeleteFunction with the version as qualifier). Lambda
/// refuses to delete a version an alias references.
pub async fn delete_version(
    client: &Client,
    function: &str,
    version: u32,
) -> Result<(), CallFailed> {
    client
        .delete_function()
        .function_name(function)
        .qualifier(version.to_string())
        .send()
        .await
        .map_err(|e| {
            CallFailed::from_sdk(
                "Lambda",
                "DeleteFunction",
                &format!("{function}:{version}"),
                &e,
            )
        })?;
    Ok(())
}

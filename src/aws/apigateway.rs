//! API Gateway's account-wide settings (GetAccount): the CloudWatch Logs role every stage
//! with logging needs and the account's throttle; and a deployed stage's own OpenAPI 3
//! export (GetExport, `oas30`) for `irisctl openapi --compare`. Must not decide what the
//! values mean (preflight and `gateway::openapi` do).

use aws_sdk_apigateway::Client;

use super::error::CallFailed;

/// What GetAccount reports for the caller's account in the client's region.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAccount {
    /// `cloudwatchRoleArn`: absent until someone sets it (irisctl bootstrap does).
    pub cloudwatch_role_arn: Option<String>,
    /// `throttleSettings.rateLimit`, requests per second across the account.
    pub rate_limit: Option<f64>,
    /// `throttleSettings.burstLimit`.
    pub burst_limit: Option<i32>,
}

pub async fn account(client: &Client) -> Result<ApiAccount, CallFailed> {
    let out = client
        .get_account()
        .send()
        .await
        .map_err(|e| CallFailed::from_sdk("API Gateway", "GetAccount", "account", &e))?;
    let throttle = out.throttle_settings();
    Ok(ApiAccount {
        cloudwatch_role_arn: out
            .cloudwatch_role_arn()
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned),
        rate_limit: throttle.map(|t| t.rate_limit()),
        burst_limit: throttle.map(|t| t.burst_limit()),
    })
}

/// API Gateway's OpenAPI 3.0 export of `stage` of REST API `rest_api_id`, as JSON text,
/// without extensions (the `extensions` parameter left out).
pub async fn export_oas30(
    client: &Client,
    rest_api_id: &str,
    stage: &str,
) -> Result<Vec<u8>, CallFailed> {
    let target = format!("{rest_api_id}/{stage}");
    let out = client
        .get_export()
        .rest_api_id(rest_api_id)
        .stage_name(stage)
        .export_type("oas30")
        .accepts("application/json")
        .send()
        .await
        .map_err(|e| CallFailed::from_sdk("API Gateway", "GetExport", &target, &e))?;
    Ok(out.body().map(|b| b.as_ref().to_vec()).unwrap_or_default())
}

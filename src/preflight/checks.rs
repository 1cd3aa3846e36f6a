//! Facts and the env → verdicts, as pure functions (unit-tested without AWS). Each
//! verdict's fix names the one thing to do.
//!
//! What AWS does that the checks rely on:
//! - API Gateway keeps one CloudWatch Logs role per account and region (`GetAccount`
//!   `cloudwatchRoleArn`); a stage with logging on fails to deploy while it is unset
//!   ("CloudWatch Logs role ARN must be set in account settings to enable logging").
//! - Lambda refuses a reserved concurrency that would leave fewer than 100 unreserved
//!   executions in the account ("Specified ReservedConcurrentExecutions for function
//!   decreases account's UnreservedConcurrentExecution below its minimum value of
//!   [100]"; Lambda's "Configuring reserved concurrency" guide).
//! - API Gateway throttles at the account level before stage and method limits
//!   (`GetAccount` `throttleSettings`; its "Throttle requests" guide).

use super::facts::{Facts, Found, NameFact};
use super::{Check, Report};
use crate::config::Config;
use crate::render::account;

/// Lambda keeps this many executions of the account unreserved.
pub const MIN_UNRESERVED: i64 = 100;

/// Every check of `config` over `facts`, in a stable order.
pub fn report(config: &Config, facts: &Facts) -> Report {
    let mut checks = vec![
        account_check(config, facts),
        logging_role(config, facts),
        concurrency(config, facts),
    ];
    checks.extend(names(config, facts));
    checks.push(throttle(config, facts));
    Report::new(&config.env, &config.region.value, checks)
}

fn account_check(config: &Config, facts: &Facts) -> Check {
    let caller = match &facts.caller {
        Ok(caller) => caller,
        Err(e) => {
            return Check::fail(
                "account",
                format!("the caller is unknown: {e}"),
                "configure credentials for the env's account (profile, `aws sso login`, or \
                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
            );
        }
    };
    match config.account_pin() {
        Err(why) => Check::fail("account", why, "set `account_id` as described above"),
        Ok(None) => Check::pass(
            "account",
            format!(
                "emulator account {} ({}); an emulator env pins none",
                caller.account, caller.arn
            ),
        ),
        Ok(Some(pinned)) if pinned == caller.account => Check::pass(
            "account",
            format!("account {pinned} ({}), as pinned", caller.arn),
        ),
        Ok(Some(pinned)) => Check::fail(
            "account",
            format!(
                "the credentials are for account {} ({}), the env pins {pinned} ({})",
                caller.account, caller.arn, config.account_id.source
            ),
            format!("switch to credentials of account {pinned} (AWS_PROFILE, `aws sso login`)"),
        ),
    }
}

fn logging_role(config: &Config, facts: &Facts) -> Check {
    let region = &config.region.value;
    let stack = account::stack_name(region);
    let bootstrap = format!("irisctl bootstrap --region {region}");
    let api = match &facts.api {
        Ok(api) => api,
        Err(e) => {
            return Check::fail(
                "logging-role",
                format!("cannot read API Gateway's account settings: {e}"),
                format!(
                    "allow apigateway:GET on arn:aws:apigateway:{region}::/account (docs/aws-account.md)"
                ),
            );
        }
    };
    let Some(role) = &api.cloudwatch_role_arn else {
        if config.emulator.value {
            // LocalStack creates a logging stage without the role (docs/emulator-gaps.md):
            // said, not refused, so emulator envs deploy without a bootstrap.
            return Check::warn(
                "logging-role",
                format!(
                    "API Gateway in {region} has no CloudWatch Logs role (the emulator does not \
                     need one; AWS refuses the stage without it)"
                ),
                bootstrap,
            );
        }
        return Check::fail(
            "logging-role",
            format!(
                "API Gateway in {region} has no CloudWatch Logs role: the env's stage would \
                 fail with \"CloudWatch Logs role ARN must be set in account settings\""
            ),
            bootstrap,
        );
    };
    match &facts.account_stack_role {
        Ok(Some(managed)) if managed == role => {
            Check::pass("logging-role", format!("{role}, managed by stack {stack}"))
        }
        Ok(Some(managed)) => Check::warn(
            "logging-role",
            format!("{role} is set, but stack {stack} manages {managed}"),
            format!("{bootstrap} sets the role the stack manages again"),
        ),
        Ok(None) => Check::warn(
            "logging-role",
            format!(
                "{role} is set outside stack {stack}: deleting whatever made it breaks \
                 logging for every env in {region}"
            ),
            format!("{bootstrap} puts the setting under the account stack"),
        ),
        Err(e) => Check::warn(
            "logging-role",
            format!("{role} is set; whether {stack} manages it is unknown: {e}"),
            "allow cloudformation:DescribeStacks (docs/aws-account.md)",
        ),
    }
}

fn concurrency(config: &Config, facts: &Facts) -> Check {
    let reserved = config.lambda.reserved_concurrency.value;
    let burst = config.api.throttle_burst.value;
    let quota = "ask for a higher Lambda \"Concurrent executions\" quota (Service Quotas)";
    let limits = match (&facts.concurrency, reserved) {
        (Ok(limits), _) => limits,
        (Err(e), None) => {
            return Check::warn(
                "concurrency",
                format!("no reservation; the account's limit is unknown: {e}"),
                "allow lambda:GetAccountSettings (docs/aws-account.md)",
            );
        }
        (Err(e), Some(r)) => {
            return Check::fail(
                "concurrency",
                format!("the env reserves {r} executions; the account's limit is unknown: {e}"),
                "allow lambda:GetAccountSettings (docs/aws-account.md)",
            );
        }
    };
    let Some(r) = reserved else {
        return if i64::from(limits.limit) < i64::from(burst) {
            Check::warn(
                "concurrency",
                format!(
                    "the account runs at most {} executions at once, fewer than the stage \
                     burst of {burst}: requests beyond it get 503",
                    limits.limit
                ),
                quota,
            )
        } else {
            Check::pass(
                "concurrency",
                format!(
                    "no reservation; the account runs up to {} executions at once",
                    limits.limit
                ),
            )
        };
    };
    let own = facts.function_reserved.clone().ok().flatten().unwrap_or(0);
    let unreserved = i64::from(limits.unreserved.unwrap_or(limits.limit));
    let left = unreserved + i64::from(own) - i64::from(r);
    if left < MIN_UNRESERVED {
        Check::fail(
            "concurrency",
            format!(
                "reserving {r} executions ({}) would leave {left} of the account's {} \
                 unreserved; Lambda refuses a reservation leaving fewer than {MIN_UNRESERVED}",
                config.lambda.reserved_concurrency.source, limits.limit
            ),
            format!(
                "remove `lambda.reserved_concurrency` from {}, or {quota} of at least {}",
                config.file.display(),
                i64::from(limits.limit) - left + MIN_UNRESERVED
            ),
        )
    } else {
        Check::pass(
            "concurrency",
            format!(
                "reserving {r} executions leaves {left} of the account's {} unreserved",
                limits.limit
            ),
        )
    }
}

fn names(config: &Config, facts: &Facts) -> Vec<Check> {
    if facts.names.is_empty() {
        return vec![Check::fail(
            "names",
            "not checked: bucket and domain names embed the account id, which is unknown",
            "fix the account check first",
        )];
    }
    facts.names.iter().map(|n| name(config, n)).collect()
}

fn name(config: &Config, fact: &NameFact) -> Check {
    let NameFact {
        kind, name, stack, ..
    } = fact;
    match &fact.found {
        Ok(Found::Absent) => Check::pass("names", format!("{kind} {name}: free")),
        Ok(Found::InStack) => Check::pass("names", format!("{kind} {name}: held by {stack}")),
        Ok(Found::Outside) => Check::fail(
            "names",
            format!(
                "{kind} {name} exists outside stack {stack}: creating it fails with \
                 AlreadyExists (a leftover of a rolled-back create or of a retained resource?)"
            ),
            format!("if it is a leftover, {}", delete_hint(kind, name)),
        ),
        Ok(Found::Elsewhere(why)) => Check::fail(
            "names",
            format!("{kind} {name}: {why}"),
            format!(
                "set another `project` in {} (every name derives from project and env)",
                config.file.display()
            ),
        ),
        Err(e) => Check::warn(
            "names",
            format!("{kind} {name}: could not check: {e}"),
            "allow the read (docs/aws-account.md lists the deploying role's permissions)",
        ),
    }
}

fn delete_hint(kind: &str, name: &str) -> String {
    match kind {
        "S3 bucket" => format!("empty and delete it: `aws s3 rb s3://{name} --force`"),
        "log group" => format!("delete it: `aws logs delete-log-group --log-group-name {name}`"),
        "ECR repository" => {
            format!("delete it: `aws ecr delete-repository --repository-name {name} --force`")
        }
        "KMS alias" => format!("delete it: `aws kms delete-alias --alias-name {name}`"),
        _ => format!(
            "delete it: `aws cognito-idp delete-user-pool-domain --domain {name} --user-pool-id POOL`"
        ),
    }
}

fn throttle(config: &Config, facts: &Facts) -> Check {
    let rate = config.api.throttle_rate.value;
    let burst = config.api.throttle_burst.value;
    let api = match &facts.api {
        Ok(api) => api,
        Err(e) => {
            return Check::warn(
                "throttle",
                format!("the account's API Gateway throttle is unknown: {e}"),
                "allow apigateway:GET on the account (docs/aws-account.md)",
            );
        }
    };
    let (Some(account_rate), Some(account_burst)) = (api.rate_limit, api.burst_limit) else {
        return Check::pass(
            "throttle",
            format!("stage {rate}/s, burst {burst}; the account reports no throttle"),
        );
    };
    if f64::from(rate) > account_rate || i64::from(burst) > i64::from(account_burst) {
        Check::warn(
            "throttle",
            format!(
                "stage {rate}/s, burst {burst} exceeds the account's {account_rate}/s, burst \
                 {account_burst}: the account's limit applies first"
            ),
            format!(
                "lower `api.throttle_rate` / `api.throttle_burst` in {}, or ask for a higher \
                 API Gateway throttle quota",
                config.file.display()
            ),
        )
    } else {
        Check::pass(
            "throttle",
            format!(
                "stage {rate}/s, burst {burst} within the account's {account_rate}/s, burst \
                 {account_burst}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::aws::apigateway::ApiAccount;
    use crate::aws::lambda::Concurrency;
    use crate::aws::sts::Caller;
    use crate::config::EnvKind;
    use crate::preflight::Verdict;

    const ACCOUNT: &str = "210987654321";

    fn config(text: &str) -> Config {
        Config::from_text(
            "qa",
            EnvKind::Named,
            Path::new("environments/qa.yaml"),
            text,
        )
        .expect("valid")
    }

    fn facts() -> Facts {
        let role = format!("arn:aws:iam::{ACCOUNT}:role/irisctl-apigw-logs");
        Facts {
            caller: Ok(Caller {
                account: ACCOUNT.into(),
                arn: format!("arn:aws:iam::{ACCOUNT}:user/ci"),
            }),
            api: Ok(ApiAccount {
                cloudwatch_role_arn: Some(role.clone()),
                rate_limit: Some(10_000.0),
                burst_limit: Some(5_000),
            }),
            account_stack_role: Ok(Some(role)),
            concurrency: Ok(Concurrency {
                limit: 1000,
                unreserved: Some(1000),
            }),
            function_reserved: Ok(None),
            names: vec![NameFact {
                kind: "S3 bucket",
                name: "iris-qa-models".into(),
                stack: "iris-qa-storage".into(),
                found: Ok(Found::Absent),
            }],
        }
    }

    fn pinned(extra: &str) -> Config {
        config(&format!("account_id: \"{ACCOUNT}\"\n{extra}"))
    }

    fn verdict(report: &Report, check: &str) -> Verdict {
        report
            .checks
            .iter()
            .filter(|c| c.check == check)
            .map(|c| c.result)
            .max()
            .expect("check present")
    }

    #[test]
    fn a_ready_account_passes_every_check() {
        let report = report(&pinned(""), &facts());
        assert_eq!(report.result, Verdict::Pass, "{}", report.to_text());
    }

    #[test]
    fn another_account_fails_naming_both() {
        let mut f = facts();
        f.caller = Ok(Caller {
            account: "999988887777".into(),
            arn: "arn:aws:iam::999988887777:user/x".into(),
        });
        let r = report(&pinned(""), &f);
        assert_eq!(verdict(&r, "account"), Verdict::Fail);
        assert!(r.to_text().contains("999988887777"), "{}", r.to_text());
    }

    #[test]
    fn a_reservation_in_an_account_of_ten_fails() {
        let mut f = facts();
        f.concurrency = Ok(Concurrency {
            limit: 10,
            unreserved: Some(10),
        });
        let r = report(
            &pinned("lambda:\n  reserved_concurrency: 20\napi:\n  throttle_burst: 20\n"),
            &f,
        );
        assert_eq!(verdict(&r, "concurrency"), Verdict::Fail, "{}", r.to_text());
        let text = r.to_text();
        assert!(text.contains("would leave -10"), "{text}");
        assert!(text.contains("at least 120"), "{text}");
    }

    #[test]
    fn a_redeploy_counts_its_own_reservation_as_available() {
        let mut f = facts();
        f.concurrency = Ok(Concurrency {
            limit: 1000,
            unreserved: Some(600),
        });
        f.function_reserved = Ok(Some(400));
        let r = report(
            &pinned(
                "lambda:\n  reserved_concurrency: 400\napi:\n  throttle_burst: 400\n  throttle_rate: 200\n",
            ),
            &f,
        );
        assert_eq!(verdict(&r, "concurrency"), Verdict::Pass, "{}", r.to_text());
    }

    #[test]
    fn a_small_account_without_reservation_only_warns() {
        let mut f = facts();
        f.concurrency = Ok(Concurrency {
            limit: 10,
            unreserved: Some(10),
        });
        let r = report(&pinned(""), &f);
        assert_eq!(verdict(&r, "concurrency"), Verdict::Warn, "{}", r.to_text());
        assert!(!r.failed());
    }

    #[test]
    fn a_role_set_outside_the_account_stack_warns() {
        let mut f = facts();
        f.account_stack_role = Ok(None);
        let r = report(&pinned(""), &f);
        assert_eq!(verdict(&r, "logging-role"), Verdict::Warn);
        assert!(r.to_text().contains("irisctl bootstrap --region us-east-1"));
    }

    #[test]
    fn a_stage_above_the_account_throttle_warns() {
        let mut f = facts();
        f.api = Ok(ApiAccount {
            cloudwatch_role_arn: f
                .api
                .as_ref()
                .ok()
                .and_then(|a| a.cloudwatch_role_arn.clone()),
            rate_limit: Some(5.0),
            burst_limit: Some(10),
        });
        let r = report(&pinned(""), &f);
        assert_eq!(verdict(&r, "throttle"), Verdict::Warn, "{}", r.to_text());
    }

    #[test]
    fn a_name_taken_in_another_account_fails_with_a_rename_fix() {
        let mut f = facts();
        f.names[0].found = Ok(Found::Elsewhere("taken".into()));
        let r = report(&pinned(""), &f);
        assert_eq!(verdict(&r, "names"), Verdict::Fail);
        assert!(r.to_text().contains("another `project`"), "{}", r.to_text());
    }

    #[test]
    fn an_unreadable_name_warns_and_does_not_stop() {
        let mut f = facts();
        f.names[0].found = Err("AccessDenied".into());
        let r = report(&pinned(""), &f);
        assert_eq!(r.result, Verdict::Warn, "{}", r.to_text());
    }
}

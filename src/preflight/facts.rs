//! What preflight reads from the account, one read-only call (or listing) per fact,
//! through the thin `aws` wrappers. A failed read is kept as that fact's error, so one
//! denied permission fails one check instead of the whole run. Must not decide verdicts
//! ([`super::checks`] does).

use crate::aws::apigateway::ApiAccount;
use crate::aws::cloudformation::Cfn;
use crate::aws::ecr::Ecr;
use crate::aws::lambda::Concurrency;
use crate::aws::s3::Bucket;
use crate::aws::sts::Caller;
use crate::aws::{self, apigateway, cognito, kms, lambda, logs, sts};
use crate::config::{AuthMode, Config};
use crate::render::account;

/// The clients preflight reads with (built from one SDK configuration, or scripted).
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cfn: Cfn,
    pub s3: aws_sdk_s3::Client,
    pub ecr: Ecr,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub kms: aws_sdk_kms::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            sts: aws::sts(sdk),
            apigateway: aws::apigateway(sdk),
            lambda: aws::lambda(sdk),
            cfn: Cfn::new(aws::cloudformation(sdk)),
            s3: aws::s3(sdk),
            ecr: Ecr::new(aws::ecr(sdk)),
            logs: aws::logs(sdk),
            kms: aws::kms(sdk),
            cognito: aws::cognito(sdk),
        }
    }
}

/// Where a name the env would create stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nobody has it: the env's stack will create it.
    Absent,
    /// It exists and the env's own stack holds it (a redeploy).
    InStack,
    /// It exists in this account outside the env's stack.
    Outside,
    /// It exists, but in another account (S3 answered 403, or another pool has the
    /// domain prefix).
    Elsewhere(String),
}

/// One name the env's stacks would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFact {
    /// `S3 bucket`, `log group`, `ECR repository`, `KMS alias`, `Cognito domain`.
    pub kind: &'static str,
    pub name: String,
    /// The env stack that creates it.
    pub stack: String,
    pub found: Result<Found, String>,
}

/// Everything preflight read.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub caller: Result<Caller, String>,
    pub api: Result<ApiAccount, String>,
    /// The logging role the account stack (`irisctl-account-<region>`) manages: `None`
    /// when that stack does not exist.
    pub account_stack_role: Result<Option<String>, String>,
    pub concurrency: Result<Concurrency, String>,
    /// What the env's function reserves now (a redeploy keeps its own share).
    pub function_reserved: Result<Option<i32>, String>,
    /// Empty when the caller's account is unknown (bucket and domain names embed it).
    pub names: Vec<NameFact>,
}

fn text(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Read every fact preflight needs about `config`'s account and region.
pub async fn gather(clients: &Clients, config: &Config) -> Facts {
    let region = &config.region.value;
    let caller = sts::caller(&clients.sts)
        .await
        .map_err(|e| format!("{e:#}"));
    let api = apigateway::account(&clients.apigateway).await.map_err(text);
    let account_stack_role = clients
        .cfn
        .describe(&account::stack_name(region))
        .await
        .map(|stack| stack.and_then(|s| s.outputs.get(account::ROLE_OUTPUT).cloned()))
        .map_err(text);
    let concurrency = lambda::account_concurrency(&clients.lambda)
        .await
        .map_err(text);
    let function_reserved = lambda::reserved(&clients.lambda, &config.names.function)
        .await
        .map_err(text);
    let names = match &caller {
        Ok(caller) => names(clients, config, &caller.account).await,
        Err(_) => Vec::new(),
    };
    Facts {
        caller,
        api,
        account_stack_role,
        concurrency,
        function_reserved,
        names,
    }
}

/// `${AWS::AccountId}` and `${AWS::Region}` of a name pattern filled in.
pub fn expand(sub: &str, account: &str, region: &str) -> String {
    sub.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
}

/// The KMS alias the storage stack creates (templates/storage.yaml.j2).
pub fn kms_alias(config: &Config) -> String {
    format!("alias/{}-data", config.names.base)
}

/// Where a name stands, from whether it exists and the physical ids of the stack that
/// would create it.
fn placed(
    exists: Result<bool, String>,
    name: &str,
    ids: &Result<Vec<String>, String>,
) -> Result<Found, String> {
    match (exists, ids) {
        (Err(e), _) => Err(e),
        (Ok(false), _) => Ok(Found::Absent),
        (Ok(true), Err(e)) => Err(e.clone()),
        (Ok(true), Ok(ids)) if ids.iter().any(|id| id == name) => Ok(Found::InStack),
        (Ok(true), Ok(_)) => Ok(Found::Outside),
    }
}

/// Where each fixed name the env's stacks create stands in `account` (destroy's receipt asks
/// the same after the stacks are gone).
pub async fn names(clients: &Clients, config: &Config, account: &str) -> Vec<NameFact> {
    let region = &config.region.value;
    let n = &config.names;
    let owned = |stack: &str| {
        let stack = stack.to_owned();
        async move { clients.cfn.physical_ids(&stack).await.map_err(text) }
    };
    let storage_ids = owned(&n.storage_stack).await;
    let auth_ids = owned(&n.auth_stack).await;
    let service_ids = owned(&n.service_stack).await;
    let mut facts = Vec::new();

    let mut buckets = vec![expand(&n.model_bucket_sub, account, region)];
    if config.storage.access_logging.value {
        buckets.push(expand(&n.log_bucket_sub, account, region));
    }
    for name in buckets {
        let found = match Bucket::new(clients.s3.clone(), name.clone()).exists().await {
            // HeadBucket answers 403 for a bucket another account owns (bucket names are
            // global): CloudFormation's create would fail with AlreadyExists.
            Err(err) if err.status == Some(403) => Ok(Found::Elsewhere(
                "the name is taken (S3 answered 403: another account owns it, or the caller \
                 may not read it)"
                    .into(),
            )),
            exists => placed(exists.map_err(text), &name, &storage_ids),
        };
        facts.push(NameFact {
            kind: "S3 bucket",
            name,
            stack: n.storage_stack.clone(),
            found,
        });
    }

    let mut log_groups = vec![&n.function_log_group, &n.access_log_group];
    // A sagemaker env's container log group has a fixed name too (SageMaker's own).
    if config.is_sagemaker() {
        log_groups.push(&n.endpoint_log_group);
    }
    for name in log_groups {
        let exists = logs::log_group_exists(&clients.logs, name)
            .await
            .map_err(text);
        facts.push(NameFact {
            kind: "log group",
            name: name.clone(),
            stack: n.service_stack.clone(),
            found: placed(exists, name, &service_ids),
        });
    }

    let exists = clients
        .ecr
        .repository_exists(&n.repository)
        .await
        .map_err(text);
    facts.push(NameFact {
        kind: "ECR repository",
        name: n.repository.clone(),
        stack: n.storage_stack.clone(),
        found: placed(exists, &n.repository, &storage_ids),
    });

    let alias = kms_alias(config);
    let exists = kms::alias_exists(&clients.kms, &alias).await.map_err(text);
    facts.push(NameFact {
        kind: "KMS alias",
        name: alias.clone(),
        stack: n.storage_stack.clone(),
        found: placed(exists, &alias, &storage_ids),
    });

    // The emulators cannot create a Cognito domain (LocalStack makes a placeholder, moto
    // never sees it), so an emulator env has no domain to ask about.
    if config.auth.mode.value == AuthMode::Cognito && !config.emulator.value {
        let domain = expand(&n.pool_domain_sub, account, region);
        let found = match cognito::domain_pool(&clients.cognito, &domain).await {
            Err(e) => Err(text(e)),
            Ok(None) => Ok(Found::Absent),
            Ok(Some(_)) => placed(Ok(true), &domain, &auth_ids),
        };
        facts.push(NameFact {
            kind: "Cognito domain",
            name: domain,
            stack: n.auth_stack.clone(),
            found,
        });
    }
    facts
}

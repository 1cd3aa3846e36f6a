//! preflight's reads against scripted AWS answers (aws-smithy-mocks) in the shapes AWS
//! documents: GetAccount without `cloudwatchRoleArn` (an account nobody bootstrapped),
//! GetAccountSettings of a new account (`ConcurrentExecutions` 10), HeadBucket 200 and a
//! DescribeLogGroups hit for names the env would create, with DescribeStackResources
//! saying the env's stack does not hold them (or does). No emulator reaches these states:
//! LocalStack adopts an existing bucket and ignores reserved concurrency.

use std::path::Path;

use aws_sdk_apigateway::operation::get_account::GetAccountOutput;
use aws_sdk_apigateway::types::ThrottleSettings;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Output, Stack, StackResource, StackStatus};
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_domain::DescribeUserPoolDomainOutput;
use aws_sdk_cognitoidentityprovider::types::DomainDescriptionType;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_lambda::operation::get_account_settings::GetAccountSettingsOutput;
use aws_sdk_lambda::operation::get_function_concurrency::GetFunctionConcurrencyError;
use aws_sdk_lambda::types::AccountLimit;
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use irisctl::aws::cloudformation::Cfn;
use irisctl::aws::ecr::Ecr;
use irisctl::config::{Config, EnvKind};
use irisctl::preflight::{self, Clients, Report, Verdict};

const ACCOUNT: &str = "210987654321";
const ROLE: &str = "arn:aws:iam::210987654321:role/irisctl-account-us-east-1-ApiGatewayLogs";

fn config(extra: &str) -> Config {
    let text = format!("region: us-east-1\naccount_id: \"{ACCOUNT}\"\n{extra}");
    Config::from_text(
        "qa",
        EnvKind::Named,
        Path::new("environments/qa.yaml"),
        &text,
    )
    .expect("valid env")
}

/// The answers of an account ready for the env; each test replaces the ones it is about.
struct Answers {
    get_account: Rule,
    account_settings: Rule,
    head_bucket: Rule,
    log_groups: Rule,
    stack_resources: Rule,
}

impl Default for Answers {
    fn default() -> Answers {
        Answers {
            get_account: mock!(aws_sdk_apigateway::Client::get_account)
                .then_output(|| account_answer(Some(ROLE))),
            account_settings: mock!(aws_sdk_lambda::Client::get_account_settings)
                .then_output(|| concurrency_answer(1000, 1000)),
            // A free bucket name: HeadBucket's bare 404.
            head_bucket: mock!(aws_sdk_s3::Client::head_bucket)
                .sequence()
                .http_status(404, None)
                .repeatedly()
                .build(),
            log_groups: mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
                .then_output(|| DescribeLogGroupsOutput::builder().build()),
            // No env stack yet: DescribeStackResources' ValidationError.
            stack_resources: mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
                .sequence()
                .http_status(400, Some(no_stack()))
                .repeatedly()
                .build(),
        }
    }
}

/// GetAccount as AWS documents it; without a role the field is absent.
fn account_answer(role: Option<&str>) -> GetAccountOutput {
    GetAccountOutput::builder()
        .set_cloudwatch_role_arn(role.map(str::to_owned))
        .throttle_settings(
            ThrottleSettings::builder()
                .rate_limit(10_000.0)
                .burst_limit(5_000)
                .build(),
        )
        .features("UsagePlans")
        .api_key_version("4")
        .build()
}

fn concurrency_answer(limit: i32, unreserved: i32) -> GetAccountSettingsOutput {
    GetAccountSettingsOutput::builder()
        .account_limit(
            AccountLimit::builder()
                .total_code_size(80_530_636_800)
                .code_size_unzipped(262_144_000)
                .code_size_zipped(52_428_800)
                .concurrent_executions(limit)
                .unreserved_concurrent_executions(unreserved)
                .build(),
        )
        .build()
}

fn no_stack() -> String {
    "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
     <Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id iris-qa-storage \
     does not exist</Message></Error><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId>\
     </ErrorResponse>"
        .to_owned()
}

async fn run(config: &Config, answers: Answers) -> Report {
    let caller = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder()
            .account(ACCOUNT)
            .arn(format!("arn:aws:iam::{ACCOUNT}:user/ci"))
            .user_id("AIDAEXAMPLE")
            .build()
    });
    let account_stack = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("irisctl-account-us-east-1")
                    .stack_id("arn:aws:cloudformation:us-east-1:210987654321:stack/irisctl-account-us-east-1/1")
                    .stack_status(StackStatus::CreateComplete)
                    .outputs(
                        Output::builder()
                            .output_key("CloudWatchRoleArn")
                            .output_value(ROLE)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let function = mock!(aws_sdk_lambda::Client::get_function_concurrency).then_error(|| {
        GetFunctionConcurrencyError::ResourceNotFoundException(
            aws_sdk_lambda::types::error::ResourceNotFoundException::builder()
                .message("Function not found: arn:aws:lambda:us-east-1:210987654321:function:iris-qa-predict")
                .build(),
        )
    });
    let repository = mock!(aws_sdk_ecr::Client::describe_repositories).then_error(|| {
        DescribeRepositoriesError::RepositoryNotFoundException(
            aws_sdk_ecr::types::error::RepositoryNotFoundException::builder()
                .message("The repository with name 'iris-qa' does not exist in the registry with id '210987654321'")
                .build(),
        )
    });
    let alias = mock!(aws_sdk_kms::Client::describe_key).then_error(|| {
        DescribeKeyError::NotFoundException(
            aws_sdk_kms::types::error::NotFoundException::builder()
                .message(
                    "Alias arn:aws:kms:us-east-1:210987654321:alias/iris-qa-data is not found.",
                )
                .build(),
        )
    });
    // A free domain prefix: DescribeUserPoolDomain answers an empty description.
    let domain = mock!(aws_sdk_cognitoidentityprovider::Client::describe_user_pool_domain)
        .then_output(|| {
            DescribeUserPoolDomainOutput::builder()
                .domain_description(DomainDescriptionType::builder().build())
                .build()
        });
    // Whatever the test's own log group rule does not match: no such group.
    let no_log_groups = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .then_output(|| DescribeLogGroupsOutput::builder().build());
    let clients = Clients {
        sts: mock_client!(aws_sdk_sts, [&caller]),
        apigateway: mock_client!(aws_sdk_apigateway, [&answers.get_account]),
        lambda: mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            [&answers.account_settings, &function]
        ),
        cfn: Cfn::new(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&account_stack, &answers.stack_resources]
        )),
        s3: mock_client!(aws_sdk_s3, [&answers.head_bucket]),
        ecr: Ecr::new(mock_client!(aws_sdk_ecr, [&repository])),
        logs: mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            [&answers.log_groups, &no_log_groups]
        ),
        kms: mock_client!(aws_sdk_kms, [&alias]),
        cognito: mock_client!(aws_sdk_cognitoidentityprovider, [&domain]),
    };
    let facts = preflight::gather(&clients, config).await;
    preflight::checks::report(config, &facts)
}

fn verdict_of(report: &Report, check: &str) -> Verdict {
    report
        .checks
        .iter()
        .filter(|c| c.check == check)
        .map(|c| c.result)
        .max()
        .unwrap_or_else(|| panic!("no {check} check in {}", report.to_text()))
}

#[tokio::test]
async fn a_ready_account_passes() {
    let report = run(&config(""), Answers::default()).await;
    assert_eq!(report.result, Verdict::Pass, "{}", report.to_text());
    let text = report.to_text();
    assert!(
        text.contains("S3 bucket iris-qa-models-210987654321-us-east-1: free"),
        "{text}"
    );
    assert!(
        text.contains("Cognito domain iris-qa-210987654321: free"),
        "{text}"
    );
}

#[tokio::test]
async fn an_account_without_the_logging_role_fails_with_bootstrap_as_the_fix() {
    let answers = Answers {
        get_account: mock!(aws_sdk_apigateway::Client::get_account)
            .then_output(|| account_answer(None)),
        ..Answers::default()
    };
    let report = run(&config(""), answers).await;
    assert_eq!(verdict_of(&report, "logging-role"), Verdict::Fail);
    let text = report.to_text();
    assert!(text.contains("no CloudWatch Logs role"), "{text}");
    assert!(
        text.contains("fix: irisctl bootstrap --region us-east-1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_reservation_in_an_account_limited_to_ten_fails() {
    let answers = Answers {
        account_settings: mock!(aws_sdk_lambda::Client::get_account_settings)
            .then_output(|| concurrency_answer(10, 10)),
        ..Answers::default()
    };
    let env = config(
        "lambda:\n  reserved_concurrency: 100\napi:\n  throttle_rate: 50\n  throttle_burst: 100\n",
    );
    let report = run(&env, answers).await;
    assert_eq!(
        verdict_of(&report, "concurrency"),
        Verdict::Fail,
        "{}",
        report.to_text()
    );
    let text = report.to_text();
    assert!(
        text.contains("would leave -90 of the account's 10 unreserved"),
        "{text}"
    );
    assert!(
        text.contains("remove `lambda.reserved_concurrency`"),
        "{text}"
    );
}

#[tokio::test]
async fn the_same_account_without_a_reservation_only_warns() {
    let answers = Answers {
        account_settings: mock!(aws_sdk_lambda::Client::get_account_settings)
            .then_output(|| concurrency_answer(10, 10)),
        ..Answers::default()
    };
    let report = run(&config(""), answers).await;
    assert_eq!(
        verdict_of(&report, "concurrency"),
        Verdict::Warn,
        "{}",
        report.to_text()
    );
    assert!(!report.failed());
}

#[tokio::test]
async fn an_existing_bucket_outside_the_env_stack_fails() {
    let answers = Answers {
        // Both buckets exist (HeadBucket 200 with the region header).
        head_bucket: mock!(aws_sdk_s3::Client::head_bucket)
            .sequence()
            .output(|| {
                HeadBucketOutput::builder()
                    .bucket_region("us-east-1")
                    .build()
            })
            .repeatedly()
            .build(),
        ..Answers::default()
    };
    let report = run(&config(""), answers).await;
    assert_eq!(verdict_of(&report, "names"), Verdict::Fail);
    let text = report.to_text();
    assert!(
        text.contains(
            "S3 bucket iris-qa-models-210987654321-us-east-1 exists outside stack iris-qa-storage"
        ),
        "{text}"
    );
    assert!(
        text.contains("aws s3 rb s3://iris-qa-models-210987654321-us-east-1 --force"),
        "{text}"
    );
}

#[tokio::test]
async fn an_existing_bucket_the_env_stack_holds_passes() {
    let answers = Answers {
        // Both buckets exist (HeadBucket 200 with the region header).
        head_bucket: mock!(aws_sdk_s3::Client::head_bucket)
            .sequence()
            .output(|| {
                HeadBucketOutput::builder()
                    .bucket_region("us-east-1")
                    .build()
            })
            .repeatedly()
            .build(),
        stack_resources: mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
            .sequence()
            .output(|| {
                let bucket = |logical: &str, name: &str| {
                    StackResource::builder()
                        .logical_resource_id(logical)
                        .physical_resource_id(name)
                        .resource_type("AWS::S3::Bucket")
                        .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                        .resource_status(
                            aws_sdk_cloudformation::types::ResourceStatus::CreateComplete,
                        )
                        .build()
                };
                DescribeStackResourcesOutput::builder()
                    .stack_resources(bucket(
                        "ModelBucket",
                        "iris-qa-models-210987654321-us-east-1",
                    ))
                    .stack_resources(bucket("LogBucket", "iris-qa-logs-210987654321-us-east-1"))
                    .build()
            })
            .repeatedly()
            .build(),
        ..Answers::default()
    };
    let report = run(&config(""), answers).await;
    assert_eq!(
        verdict_of(&report, "names"),
        Verdict::Pass,
        "{}",
        report.to_text()
    );
    assert!(report.to_text().contains("held by iris-qa-storage"));
}

#[tokio::test]
async fn an_existing_log_group_of_the_env_fails() {
    let answers = Answers {
        log_groups: mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.log_group_name_prefix() == Some("/aws/lambda/iris-qa-predict"))
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(
                        LogGroup::builder()
                            .log_group_name("/aws/lambda/iris-qa-predict")
                            .arn("arn:aws:logs:us-east-1:210987654321:log-group:/aws/lambda/iris-qa-predict:*")
                            .creation_time(1_700_000_000_000)
                            .stored_bytes(0)
                            .build(),
                    )
                    .build()
            }),
        ..Answers::default()
    };
    let report = run(&config(""), answers).await;
    let text = report.to_text();
    assert!(
        text.contains("log group /aws/lambda/iris-qa-predict exists outside stack iris-qa-service"),
        "{text}"
    );
    assert!(
        text.contains("aws logs delete-log-group --log-group-name /aws/lambda/iris-qa-predict"),
        "{text}"
    );
}

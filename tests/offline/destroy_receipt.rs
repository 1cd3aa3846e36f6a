//! The teardown receipt's reads against scripted AWS answers (aws-smithy-mocks) in the
//! shapes AWS documents, for what no emulator shows: GetResources answering in two pages
//! (the second asked for with the first page's PaginationToken), tagging hits whose
//! resources are already gone (a bucket HeadBucket answers 404 for, a KMS key
//! `PendingDeletion`, an SNS topic of a deleted env stack) beside one that is really left
//! (an SQS queue GetQueueUrl still finds), and the execution log group API Gateway
//! re-created after the stack deleted it.

use std::path::Path;

use aws_sdk_cloudwatchlogs::operation::delete_log_group::{
    DeleteLogGroupError, DeleteLogGroupOutput,
};
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_domain::DescribeUserPoolDomainOutput;
use aws_sdk_cognitoidentityprovider::types::DomainDescriptionType;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
use aws_sdk_kms::types::{KeyMetadata, KeyState};
use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionError;
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use irisctl::aws::cloudformation::Cfn;
use irisctl::aws::ecr::Ecr;
use irisctl::config::{Config, EnvKind};
use irisctl::destroy::look::{self, Clients, Seen, Settle};
use irisctl::destroy::receipt::{self, Receipt};
use irisctl::preflight;

const ACCOUNT: &str = "210987654321";
const BUCKET: &str = "iris-qa-models-210987654321-us-east-1";
const KEY: &str = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EXECUTION_LOGS: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/v1";

fn config() -> Config {
    let text = format!("region: us-east-1\naccount_id: \"{ACCOUNT}\"\n");
    Config::from_text(
        "qa",
        EnvKind::Named,
        Path::new("environments/qa.yaml"),
        &text,
    )
    .expect("valid env")
}

fn mapping(arn: &str, stack: Option<&str>) -> ResourceTagMapping {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().expect("tag");
    let mut m = ResourceTagMapping::builder()
        .resource_arn(arn)
        .tags(tag("irisctl:env", "qa"))
        .tags(tag("irisctl:project", "iris"));
    if let Some(stack) = stack {
        m = m.tags(tag("aws:cloudformation:stack-name", stack));
    }
    m.build()
}

fn no_stack(name: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
         <Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id {name} \
         does not exist</Message></Error><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId>\
         </ErrorResponse>"
    )
}

/// What is scripted besides the tagging pages and the execution log group.
async fn run(tagging: Vec<Rule>, logs: Vec<Rule>) -> Receipt {
    let config = config();
    let caller = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder()
            .account(ACCOUNT)
            .arn(format!("arn:aws:iam::{ACCOUNT}:user/ci"))
            .user_id("AIDAEXAMPLE")
            .build()
    });
    // Every env stack is gone: DescribeStacks and DescribeStackResources answer
    // ValidationError "does not exist".
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .http_status(400, Some(no_stack("iris-qa-storage")))
        .repeatedly()
        .build();
    let resources = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
        .sequence()
        .http_status(400, Some(no_stack("iris-qa-storage")))
        .repeatedly()
        .build();
    // The bucket of the storage stack is gone: HeadBucket's bare 404.
    let head_bucket = mock!(aws_sdk_s3::Client::head_bucket)
        .sequence()
        .http_status(404, None)
        .repeatedly()
        .build();
    // The key is scheduled for deletion (what deleting its stack does); the alias is gone.
    let key = mock!(aws_sdk_kms::Client::describe_key)
        .match_requests(|r| r.key_id() == Some(KEY))
        .then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
                        .arn(KEY)
                        .key_state(KeyState::PendingDeletion)
                        .enabled(false)
                        .build()
                        .expect("key metadata"),
                )
                .build()
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
    // Someone's queue, tagged with the env outside its stacks, is still there.
    let queue = mock!(aws_sdk_sqs::Client::get_queue_url)
        .match_requests(|r| r.queue_name() == Some("qa-stray"))
        .then_output(|| {
            GetQueueUrlOutput::builder()
                .queue_url("https://sqs.us-east-1.amazonaws.com/210987654321/qa-stray")
                .build()
        });
    let versions = mock!(aws_sdk_lambda::Client::list_versions_by_function).then_error(|| {
        ListVersionsByFunctionError::ResourceNotFoundException(
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
    let domain = mock!(aws_sdk_cognitoidentityprovider::Client::describe_user_pool_domain)
        .then_output(|| {
            DescribeUserPoolDomainOutput::builder()
                .domain_description(DomainDescriptionType::builder().build())
                .build()
        });
    let no_log_groups = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .then_output(|| DescribeLogGroupsOutput::builder().build());
    let mut log_rules: Vec<&Rule> = logs.iter().collect();
    log_rules.push(&no_log_groups);
    let tagging_rules: Vec<&Rule> = tagging.iter().collect();
    let clients = Clients {
        preflight: preflight::Clients {
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&caller]),
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, Vec::<&Rule>::new()),
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&versions]),
            cfn: Cfn::new(mock_client!(
                aws_sdk_cloudformation,
                RuleMode::MatchAny,
                [&stacks, &resources]
            )),
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head_bucket]),
            ecr: Ecr::new(mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&repository])),
            logs: mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, log_rules),
            kms: mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&key, &alias]),
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&domain]
            ),
        },
        tagging: mock_client!(
            aws_sdk_resourcegroupstagging,
            RuleMode::MatchAny,
            tagging_rules
        ),
        sqs: mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&queue]),
    };
    let seen = Seen {
        rest_api_id: Some("a1b2c3d4e5".into()),
    };
    let facts = look::gather(&clients, &config, &seen, Settle(std::time::Duration::ZERO)).await;
    receipt::receipt(&facts)
}

/// GetResources in two pages: the first carries a PaginationToken, the second is asked
/// for with it and ends the listing with an empty token.
fn two_pages(second: Vec<ResourceTagMapping>) -> Vec<Rule> {
    let first = mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
        .match_requests(|r| r.pagination_token().is_none_or(str::is_empty))
        .then_output(|| {
            GetResourcesOutput::builder()
                .pagination_token("eyJuZXh0IjoyfQ==")
                .resource_tag_mapping_list(mapping(
                    &format!("arn:aws:s3:::{BUCKET}"),
                    Some("iris-qa-storage"),
                ))
                .resource_tag_mapping_list(mapping(KEY, Some("iris-qa-storage")))
                .build()
        });
    let second = mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
        .match_requests(|r| r.pagination_token() == Some("eyJuZXh0IjoyfQ=="))
        .then_output(move || {
            let mut out = GetResourcesOutput::builder().pagination_token("");
            for m in second.clone() {
                out = out.resource_tag_mapping_list(m);
            }
            out.build()
        });
    vec![first, second]
}

/// The execution log group is not there (DeleteLogGroup's ResourceNotFoundException).
fn no_execution_logs() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group).then_error(|| {
            DeleteLogGroupError::ResourceNotFoundException(
                aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException::builder()
                    .message("The specified log group does not exist.")
                    .build(),
            )
        }),
    ]
}

#[tokio::test]
async fn every_page_is_read_gone_hits_are_stale_and_a_live_stray_is_named() {
    let receipt = run(
        two_pages(vec![
            mapping(
                "arn:aws:sns:us-east-1:210987654321:iris-qa-alarms",
                Some("iris-qa-service"),
            ),
            mapping("arn:aws:sqs:us-east-1:210987654321:qa-stray", None),
        ]),
        no_execution_logs(),
    )
    .await;
    assert!(!receipt.clean, "{receipt:#?}");
    let left: Vec<(&str, &str)> = receipt
        .leftovers
        .iter()
        .map(|l| (l.kind.as_str(), l.name.as_str()))
        .collect();
    assert_eq!(left, [("SQS queue", "qa-stray")], "{receipt:#?}");
    assert!(
        receipt.leftovers[0].note.contains("aws sqs delete-queue"),
        "{receipt:#?}"
    );
    // Both pages were read: the first page's bucket and key, the second page's topic.
    let stale: Vec<&str> = receipt.stale.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        stale,
        [
            BUCKET,
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "iris-qa-alarms"
        ],
        "{receipt:#?}"
    );
    assert!(receipt.unchecked.is_empty(), "{receipt:#?}");
    let problem = receipt.problem().expect("not clean");
    assert!(problem.contains("SQS queue qa-stray"), "{problem}");
}

#[tokio::test]
async fn only_stale_listings_make_a_clean_receipt() {
    let receipt = run(two_pages(Vec::new()), no_execution_logs()).await;
    assert!(receipt.clean, "{receipt:#?}");
    assert_eq!(receipt.stale.len(), 2, "{receipt:#?}");
}

#[tokio::test]
async fn an_execution_log_group_that_comes_back_is_swept_and_named_if_still_there() {
    // DeleteLogGroup finds it (late logs re-created it); DescribeLogGroups still finds it
    // at the second look.
    let deleted = mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group)
        .then_output(|| DeleteLogGroupOutput::builder().build());
    let still_there = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .match_requests(|r| r.log_group_name_prefix() == Some(EXECUTION_LOGS))
        .then_output(|| {
            DescribeLogGroupsOutput::builder()
                .log_groups(LogGroup::builder().log_group_name(EXECUTION_LOGS).build())
                .build()
        });
    let receipt = run(two_pages(Vec::new()), vec![deleted, still_there]).await;
    assert!(!receipt.clean, "{receipt:#?}");
    assert!(receipt.recreated_execution_logs);
    assert_eq!(receipt.leftovers.len(), 1, "{receipt:#?}");
    assert_eq!(receipt.leftovers[0].name, EXECUTION_LOGS);
    assert!(
        receipt.leftovers[0].note.contains(&format!(
            "aws logs delete-log-group --log-group-name {EXECUTION_LOGS}"
        )),
        "{receipt:#?}"
    );
}

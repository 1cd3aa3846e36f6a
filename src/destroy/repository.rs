//! Emptying an ECR repository so CloudFormation can delete it (real AWS refuses to delete
//! a repository holding images unless `EmptyOnDelete` is set, which only ephemeral envs
//! set). Owns ListImages (paginated) and BatchDeleteImage (at most 100 image ids per call,
//! the ECR limit), and reports each image ECR refused. Must not delete the repository.
//!
//! On the emulators ECR is served by moto (`AWS_ENDPOINT_URL_ECR`), while LocalStack's
//! CloudFormation only creates a placeholder for `AWS::ECR::Repository` (ECR is a Pro
//! feature there): the repository the stack names usually does not exist on moto. A
//! missing repository has nothing to empty, which is also what a rerun after a completed
//! destroy finds.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::ImageIdentifier;

/// ECR's limit of image ids per BatchDeleteImage call.
pub const DELETE_BATCH: usize = 100;

/// What emptying did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emptied {
    pub deleted: usize,
    /// The repository does not exist: nothing to empty.
    pub missing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EmptyError {
    #[error("ECR {operation} on repository {repository}: {message}")]
    Call {
        operation: &'static str,
        repository: String,
        code: Option<String>,
        message: String,
    },
    #[error(
        "ECR refused to delete {} image(s) of repository {repository}:\n  {}\nrun the same command again once the cause is fixed",
        failures.len(),
        failures.join("\n  ")
    )]
    Refused {
        repository: String,
        failures: Vec<String>,
    },
}

fn call_error<E, R>(operation: &'static str, repository: &str, err: SdkError<E, R>) -> EmptyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    EmptyError::Call {
        operation,
        repository: repository.to_owned(),
        code: err.code().map(str::to_owned),
        message: err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| aws_sdk_ecr::error::DisplayErrorContext(&err).to_string()),
    }
}

/// Delete every image (tagged or not) in `repository`.
pub async fn empty(ecr: &Client, repository: &str) -> Result<Emptied, EmptyError> {
    let mut ids: Vec<ImageIdentifier> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match ecr
            .list_images()
            .repository_name(repository)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(page) => page,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_not_found_exception()) =>
            {
                return Ok(Emptied {
                    deleted: 0,
                    missing: true,
                });
            }
            Err(err) => return Err(call_error("ListImages", repository, err)),
        };
        ids.extend(page.image_ids().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // A tagged image is listed once per tag; one digest deletes it with all its tags.
    let mut digests: Vec<String> = ids
        .iter()
        .filter_map(|id| id.image_digest().map(str::to_owned))
        .collect();
    digests.sort();
    digests.dedup();
    let mut emptied = Emptied::default();
    let mut failures = Vec::new();
    for batch in digests.chunks(DELETE_BATCH) {
        let image_ids: Vec<ImageIdentifier> = batch
            .iter()
            .map(|digest| ImageIdentifier::builder().image_digest(digest).build())
            .collect();
        let out = match ecr
            .batch_delete_image()
            .repository_name(repository)
            .set_image_ids(Some(image_ids))
            .send()
            .await
        {
            Ok(out) => out,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_not_found_exception()) =>
            {
                emptied.missing = emptied.deleted == 0;
                return Ok(emptied);
            }
            Err(err) => return Err(call_error("BatchDeleteImage", repository, err)),
        };
        emptied.deleted += out.image_ids().len();
        failures.extend(
            out.failures()
                .iter()
                // Deleted meanwhile by someone else: the goal is reached.
                .filter(|f| f.failure_code().map(|c| c.as_str()) != Some("ImageNotFound"))
                .map(|f| {
                    format!(
                        "{}: {} {}",
                        f.image_id()
                            .and_then(|id| id.image_digest())
                            .unwrap_or("(no digest)"),
                        f.failure_code().map(|c| c.as_str()).unwrap_or("Unknown"),
                        f.failure_reason().unwrap_or_default()
                    )
                }),
        );
    }
    if failures.is_empty() {
        Ok(emptied)
    } else {
        Err(EmptyError::Refused {
            repository: repository.to_owned(),
            failures,
        })
    }
}

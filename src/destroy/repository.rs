//! Emptying an ECR repository so CloudFormation can delete it (real AWS refuses to delete
//! a repository holding images unless `EmptyOnDelete` is set, which only ephemeral envs
//! set). Owns the policy: list every image, delete each digest once (with all its tags) in
//! batches as large as ECR takes, count an image someone else deleted meanwhile as done,
//! and report each image ECR refused. The calls themselves are [`Ecr`]'s. Must not delete
//! the repository.
//!
//! On the emulators ECR is served by moto (`AWS_ENDPOINT_URL_ECR`), while LocalStack's
//! CloudFormation only creates a placeholder for `AWS::ECR::Repository` (ECR is a Pro
//! feature there): the repository the stack names usually does not exist on moto. A
//! missing repository has nothing to empty, which is also what a rerun after a completed
//! destroy finds.

use aws_sdk_ecr::Client;

use crate::aws::ecr::{BATCH_DELETE_IMAGE_LIMIT, Ecr, EcrError};

/// Image ids per BatchDeleteImage call: as many as ECR takes.
pub const DELETE_BATCH: usize = BATCH_DELETE_IMAGE_LIMIT;

/// What emptying did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emptied {
    pub deleted: usize,
    /// The repository does not exist: nothing to empty.
    pub missing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EmptyError {
    /// A listing or delete call failed as a whole (after the SDK's retries).
    #[error(transparent)]
    Ecr(#[from] EcrError),
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

/// Delete every image (tagged or not) in `repository`.
pub async fn empty(ecr: &Client, repository: &str) -> Result<Emptied, EmptyError> {
    let ecr = Ecr::new(ecr.clone());
    let ids = match ecr.list_image_ids(repository).await {
        Ok(ids) => ids,
        Err(err) if err.is_missing_repository() => {
            return Ok(Emptied {
                deleted: 0,
                missing: true,
            });
        }
        Err(err) => return Err(err.into()),
    };
    // A tagged image is listed once per tag; one digest deletes it with all its tags.
    let mut digests: Vec<String> = ids.into_iter().filter_map(|id| id.digest).collect();
    digests.sort();
    digests.dedup();
    let mut emptied = Emptied::default();
    let mut failures = Vec::new();
    for batch in digests.chunks(DELETE_BATCH) {
        let done = match ecr.batch_delete_digests(repository, batch).await {
            Ok(done) => done,
            Err(err) if err.is_missing_repository() => {
                emptied.missing = emptied.deleted == 0;
                return Ok(emptied);
            }
            Err(err) => return Err(err.into()),
        };
        emptied.deleted += done.deleted;
        failures.extend(
            done.failures
                .iter()
                // Deleted meanwhile by someone else: the goal is reached.
                .filter(|f| f.code != "ImageNotFound")
                .map(ToString::to_string),
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

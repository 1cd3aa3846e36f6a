//! A thin ECR wrapper over one registry: the image listing (ListImages, every page) and
//! the batched delete (BatchDeleteImage) that destroy empties a repository with, the
//! recognition of "this repository does not exist", and the calls a push makes
//! (`push`: layer checks, layer uploads in parts, PutImage, BatchGetImage). Returns
//! irisctl's own plain types, so the policy above it never sees the SDK. Must not decide
//! what to delete or upload, or when to retry (the SDK's retry config handles throttling).

mod push;

pub use push::{Put, StoredImage};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::ImageIdentifier;

use super::error::Failure;

/// ECR's limit of image ids per BatchDeleteImage call.
pub const BATCH_DELETE_IMAGE_LIMIT: usize = 100;

/// The error code of a repository that does not exist.
const REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";

/// An ECR error with the operation and repository it concerned.
#[derive(Debug, thiserror::Error)]
#[error("ECR {operation} on repository {repository}: {message}")]
pub struct EcrError {
    pub operation: &'static str,
    pub repository: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

impl EcrError {
    /// `repository_not_found`: whether the operation's own error says the repository is
    /// missing. The modeled error is checked, not only the code, because an error built
    /// without response metadata (a scripted answer, a future SDK) may carry no code.
    fn from_sdk<E>(
        operation: &'static str,
        repository: &str,
        err: SdkError<E, HttpResponse>,
        repository_not_found: impl Fn(&E) -> bool,
    ) -> EcrError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let Failure {
            status,
            code,
            message,
        } = Failure::from_sdk(&err);
        let code = if err.as_service_error().is_some_and(repository_not_found) {
            Some(REPOSITORY_NOT_FOUND.to_owned())
        } else {
            code
        };
        EcrError {
            operation,
            repository: repository.to_owned(),
            status,
            code,
            message,
        }
    }

    fn local(operation: &'static str, repository: &str, message: String) -> EcrError {
        EcrError {
            operation,
            repository: repository.to_owned(),
            status: None,
            code: None,
            message,
        }
    }

    /// The repository does not exist (never created, or already deleted).
    pub fn is_missing_repository(&self) -> bool {
        self.code.as_deref() == Some(REPOSITORY_NOT_FOUND)
    }
}

/// One image as ListImages names it: a tagged image is listed once per tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    pub digest: Option<String>,
    pub tag: Option<String>,
}

/// One image ECR refused to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFailure {
    pub digest: Option<String>,
    /// ECR's failure code (`ImageNotFound`, `ImageReferencedByManifestList`, ...), or
    /// `Unknown` when it sent none.
    pub code: String,
    pub reason: String,
}

impl std::fmt::Display for ImageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}",
            self.digest.as_deref().unwrap_or("(no digest)"),
            self.code,
            self.reason
        )
    }
}

/// What one BatchDeleteImage call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchDeleted {
    /// Image ids ECR reports deleted.
    pub deleted: usize,
    pub failures: Vec<ImageFailure>,
}

/// The ECR calls irisctl makes.
#[derive(Debug, Clone)]
pub struct Ecr {
    client: Client,
}

impl Ecr {
    pub fn new(client: Client) -> Ecr {
        Ecr { client }
    }

    /// Every image id in `repository`, following ListImages' pages. A missing repository
    /// is an error ([`EcrError::is_missing_repository`]).
    pub async fn list_image_ids(&self, repository: &str) -> Result<Vec<ImageId>, EcrError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_images()
                .repository_name(repository)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    EcrError::from_sdk("ListImages", repository, e, |e| {
                        e.is_repository_not_found_exception()
                    })
                })?;
            ids.extend(page.image_ids().iter().map(|id| ImageId {
                digest: id.image_digest().map(str::to_owned),
                tag: id.image_tag().map(str::to_owned),
            }));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(ids),
            }
        }
    }

    /// Whether `repository` exists (DescribeRepositories by name).
    pub async fn repository_exists(&self, repository: &str) -> Result<bool, EcrError> {
        match self
            .client
            .describe_repositories()
            .repository_names(repository)
            .send()
            .await
        {
            Ok(out) => Ok(!out.repositories().is_empty()),
            Err(err) => {
                let err = EcrError::from_sdk("DescribeRepositories", repository, err, |e| {
                    e.is_repository_not_found_exception()
                });
                if err.is_missing_repository() {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// One BatchDeleteImage call deleting the images with these digests (each with all its
    /// tags), at most [`BATCH_DELETE_IMAGE_LIMIT`] of them.
    pub async fn batch_delete_digests(
        &self,
        repository: &str,
        digests: &[String],
    ) -> Result<BatchDeleted, EcrError> {
        if digests.len() > BATCH_DELETE_IMAGE_LIMIT {
            return Err(EcrError::local(
                "BatchDeleteImage",
                repository,
                format!(
                    "{} images in one call; ECR takes at most {BATCH_DELETE_IMAGE_LIMIT}",
                    digests.len()
                ),
            ));
        }
        let image_ids: Vec<ImageIdentifier> = digests
            .iter()
            .map(|digest| ImageIdentifier::builder().image_digest(digest).build())
            .collect();
        let out = self
            .client
            .batch_delete_image()
            .repository_name(repository)
            .set_image_ids(Some(image_ids))
            .send()
            .await
            .map_err(|e| {
                EcrError::from_sdk("BatchDeleteImage", repository, e, |e| {
                    e.is_repository_not_found_exception()
                })
            })?;
        Ok(BatchDeleted {
            deleted: out.image_ids().len(),
            failures: out
                .failures()
                .iter()
                .map(|f| ImageFailure {
                    digest: f
                        .image_id()
                        .and_then(|id| id.image_digest())
                        .map(str::to_owned),
                    code: f
                        .failure_code()
                        .map(|c| c.as_str())
                        .unwrap_or("Unknown")
                        .to_owned(),
                    reason: f.failure_reason().unwrap_or_default().to_owned(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::operation::batch_delete_image::{
        BatchDeleteImageError, BatchDeleteImageOutput,
    };
    use aws_sdk_ecr::operation::list_images::{ListImagesError, ListImagesOutput};
    use aws_sdk_ecr::types::error::RepositoryNotFoundException;
    use aws_sdk_ecr::types::{ImageFailure as SdkImageFailure, ImageFailureCode};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn id(digest: &str, tag: Option<&str>) -> ImageIdentifier {
        ImageIdentifier::builder()
            .image_digest(digest)
            .set_image_tag(tag.map(str::to_owned))
            .build()
    }

    const NOT_FOUND: &str = "The repository with name 'iris-local' does not exist in the registry with id '000000000000'";

    /// The error as a scripted answer builds it: the modeled variant, no response metadata.
    fn not_found() -> RepositoryNotFoundException {
        RepositoryNotFoundException::builder()
            .message(NOT_FOUND)
            .build()
    }

    /// The error as the SDK deserialises it from a response: with code and message.
    fn not_found_from_the_wire() -> RepositoryNotFoundException {
        RepositoryNotFoundException::builder()
            .message(NOT_FOUND)
            .meta(
                aws_sdk_ecr::error::ErrorMetadata::builder()
                    .code(REPOSITORY_NOT_FOUND)
                    .message(NOT_FOUND)
                    .build(),
            )
            .build()
    }

    #[tokio::test]
    async fn listing_follows_every_page_and_passes_the_token_on() {
        let first = mock!(aws_sdk_ecr::Client::list_images)
            .match_requests(|req| req.next_token().is_none())
            .then_output(|| {
                ListImagesOutput::builder()
                    .image_ids(id("sha256:a", Some("v1")))
                    .image_ids(id("sha256:b", None))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_ecr::Client::list_images)
            .match_requests(|req| {
                req.next_token() == Some("page-2") && req.repository_name() == Some("iris-local")
            })
            .then_output(|| {
                ListImagesOutput::builder()
                    .image_ids(id("sha256:a", Some("latest")))
                    .build()
            });
        let ecr = mock_client!(aws_sdk_ecr, RuleMode::Sequential, [&first, &second]);
        let ids = Ecr::new(ecr)
            .list_image_ids("iris-local")
            .await
            .expect("listed");
        let listed: Vec<_> = ids
            .iter()
            .map(|i| (i.digest.as_deref(), i.tag.as_deref()))
            .collect();
        assert_eq!(
            listed,
            [
                (Some("sha256:a"), Some("v1")),
                (Some("sha256:b"), None),
                (Some("sha256:a"), Some("latest")),
            ]
        );
        assert_eq!(first.num_calls(), 1);
        assert_eq!(second.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_repository_is_recognised_on_listing_and_on_deleting() {
        let list = mock!(aws_sdk_ecr::Client::list_images)
            .then_error(|| ListImagesError::RepositoryNotFoundException(not_found_from_the_wire()));
        let delete = mock!(aws_sdk_ecr::Client::batch_delete_image)
            .then_error(|| BatchDeleteImageError::RepositoryNotFoundException(not_found()));
        let ecr = Ecr::new(mock_client!(
            aws_sdk_ecr,
            RuleMode::MatchAny,
            [&list, &delete]
        ));

        let err = ecr.list_image_ids("iris-local").await.expect_err("missing");
        assert!(err.is_missing_repository(), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("ECR ListImages on repository iris-local: {NOT_FOUND}")
        );
        let err = ecr
            .batch_delete_digests("iris-local", &["sha256:a".to_owned()])
            .await
            .expect_err("missing");
        assert!(err.is_missing_repository(), "{err:?}");
        assert_eq!(err.operation, "BatchDeleteImage");
    }

    #[tokio::test]
    async fn other_errors_are_not_a_missing_repository() {
        let list = mock!(aws_sdk_ecr::Client::list_images).then_error(|| {
            ListImagesError::generic(
                aws_sdk_ecr::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform ecr:ListImages")
                    .build(),
            )
        });
        let ecr = Ecr::new(mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&list]));
        let err = ecr.list_image_ids("iris-local").await.expect_err("denied");
        assert!(!err.is_missing_repository());
        assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
    }

    #[tokio::test]
    async fn a_batch_reports_what_was_deleted_and_what_ecr_refused() {
        let delete = mock!(aws_sdk_ecr::Client::batch_delete_image)
            .match_requests(|req| {
                req.image_ids()
                    .iter()
                    .map(|i| i.image_digest())
                    .eq([Some("sha256:a"), Some("sha256:b")])
            })
            .then_output(|| {
                BatchDeleteImageOutput::builder()
                    .image_ids(id("sha256:a", None))
                    .failures(
                        SdkImageFailure::builder()
                            .image_id(id("sha256:b", None))
                            .failure_code(ImageFailureCode::ImageReferencedByManifestList)
                            .failure_reason("referenced by a manifest list")
                            .build(),
                    )
                    .build()
            });
        let ecr = Ecr::new(mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&delete]));
        let done = ecr
            .batch_delete_digests("iris-local", &["sha256:a".into(), "sha256:b".into()])
            .await
            .expect("one call");
        assert_eq!(done.deleted, 1);
        assert_eq!(
            done.failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["sha256:b: ImageReferencedByManifestList referenced by a manifest list"]
        );
        assert_eq!(delete.num_calls(), 1);
    }

    #[tokio::test]
    async fn more_digests_than_ecr_takes_are_refused_before_any_call() {
        let delete = mock!(aws_sdk_ecr::Client::batch_delete_image)
            .then_output(|| BatchDeleteImageOutput::builder().build());
        let ecr = Ecr::new(mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&delete]));
        let digests = vec!["sha256:a".to_owned(); BATCH_DELETE_IMAGE_LIMIT + 1];
        let err = ecr
            .batch_delete_digests("iris-local", &digests)
            .await
            .expect_err("too many");
        assert!(err.to_string().contains("at most 100"), "{err}");
        assert_eq!(delete.num_calls(), 0);
    }
}

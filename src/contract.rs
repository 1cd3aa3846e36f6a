//! The names shared between the templates and the code that reads what they produce:
//! stack outputs (passed on as the next stack's parameters, read by status, destroy and
//! unlock), the artifact pins the service stack takes as parameters, and the environment
//! variables the function reads. One spelling each, here; `tests/offline/contract.rs` checks them
//! against every env's rendered templates, so a rename on either side fails a test
//! instead of a deploy. Must not hold logic.

/// Outputs of the storage stack.
pub mod storage {
    pub const MODEL_BUCKET_NAME: &str = "ModelBucketName";
    pub const MODEL_BUCKET_ARN: &str = "ModelBucketArn";
    pub const KMS_KEY_ARN: &str = "KmsKeyArn";
    pub const REPOSITORY_NAME: &str = "RepositoryName";
    pub const REPOSITORY_URI: &str = "RepositoryUri";
    pub const LOG_BUCKET_NAME: &str = "LogBucketName";
    /// Every output the storage stack declares.
    pub const OUTPUTS: [&str; 6] = [
        MODEL_BUCKET_NAME,
        MODEL_BUCKET_ARN,
        KMS_KEY_ARN,
        REPOSITORY_NAME,
        REPOSITORY_URI,
        LOG_BUCKET_NAME,
    ];
}

/// Outputs of the auth stack.
pub mod auth {
    pub const USER_POOL_ID: &str = "UserPoolId";
    pub const USER_POOL_ARN: &str = "UserPoolArn";
    pub const USER_POOL_CLIENT_ID: &str = "UserPoolClientId";
    pub const TOKEN_URL: &str = "TokenUrl";
    pub const PREDICT_SCOPE: &str = "PredictScope";
    /// Every output the auth stack declares.
    pub const OUTPUTS: [&str; 5] = [
        USER_POOL_ID,
        USER_POOL_ARN,
        USER_POOL_CLIENT_ID,
        TOKEN_URL,
        PREDICT_SCOPE,
    ];
}

/// Outputs of the service stack.
pub mod service {
    pub const API_URL: &str = "ApiUrl";
    pub const FUNCTION_NAME: &str = "FunctionName";
    pub const FUNCTION_ARN: &str = "FunctionArn";
    /// The `live` alias every consumer invokes.
    pub const LIVE_ALIAS_ARN: &str = "LiveAliasArn";
    pub const DEAD_LETTER_QUEUE_URL: &str = "DeadLetterQueueUrl";
    pub const ALARM_TOPIC_ARN: &str = "AlarmTopicArn";
    /// Only a `backend: sagemaker` env's service stack: its SageMaker endpoint.
    pub const ENDPOINT_NAME: &str = "EndpointName";
    /// Not an output: the REST API's logical id, whose physical id (the API's id) names
    /// API Gateway's execution log group, read by destroy before the stack goes.
    pub const REST_API_RESOURCE: &str = "RestApi";
    /// Every output the service stack declares.
    pub const OUTPUTS: [&str; 6] = [
        API_URL,
        FUNCTION_NAME,
        FUNCTION_ARN,
        LIVE_ALIAS_ARN,
        DEAD_LETTER_QUEUE_URL,
        ALARM_TOPIC_ARN,
    ];
}

/// The artifact pins: service-stack parameters that say which bytes run (key, S3 object
/// version, sha256 of each artifact; for an image, its URI by digest). CloudFormation's
/// parameter history is therefore the record of what ran when.
pub mod pins {
    pub const LAMBDA_CODE_KEY: &str = "LambdaCodeKey";
    pub const LAMBDA_CODE_VERSION_ID: &str = "LambdaCodeVersionId";
    /// `<repository uri>@sha256:<digest>`: the function's image (`lambda.package: image`).
    pub const IMAGE_URI: &str = "ImageUri";
    pub const LAMBDA_CODE_SHA256: &str = "LambdaCodeSha256";
    pub const MODEL_KEY: &str = "ModelKey";
    pub const MODEL_VERSION_ID: &str = "ModelVersionId";
    pub const MODEL_SHA256: &str = "ModelSha256";
    pub const MANIFEST_KEY: &str = "ManifestKey";
    pub const MANIFEST_VERSION_ID: &str = "ManifestVersionId";
    /// The pins only a zip-packaged function has (its code in the bucket).
    pub const ZIP_ONLY: [&str; 2] = [LAMBDA_CODE_KEY, LAMBDA_CODE_VERSION_ID];
    /// The pins only an image-packaged function has.
    pub const IMAGE_ONLY: [&str; 1] = [IMAGE_URI];
    /// Every pin, in the order the service template declares them (a service stack
    /// declares those of its package: all but [`IMAGE_ONLY`] for a zip, all but
    /// [`ZIP_ONLY`] for an image).
    pub const ALL: [&str; 9] = [
        LAMBDA_CODE_KEY,
        LAMBDA_CODE_VERSION_ID,
        IMAGE_URI,
        LAMBDA_CODE_SHA256,
        MODEL_KEY,
        MODEL_VERSION_ID,
        MODEL_SHA256,
        MANIFEST_KEY,
        MANIFEST_VERSION_ID,
    ];
}

/// A rollout's state: service-stack parameters, so CloudFormation records every step and an
/// interrupted run leaves its state where `irisctl rollout status` reads it.
pub mod rollout {
    /// The version the live alias keeps as primary while a rollout runs; empty: none runs.
    pub const FROM: &str = "RolloutFrom";
    /// The share of traffic (0 to 1) the new release's version receives meanwhile.
    pub const WEIGHT: &str = "RolloutWeight";
    /// The running rollout's strategy, as `--strategy` takes it; empty: none runs.
    pub const STRATEGY: &str = "RolloutStrategy";
    pub const ALL: [&str; 3] = [FROM, WEIGHT, STRATEGY];
}

/// The environment variables the function reads at cold start (the service template sets
/// them; `irisctl local serve` sets all but the optional limits [`function_env::MAX_BATCH`],
/// [`function_env::BATCH_MAX_ROWS`] and [`function_env::BATCH_MAX_BYTES`]).
/// `lambda/tests/contract_with_irisctl.rs` checks that the function reads exactly these.
pub mod function_env {
    pub const MODEL_BUCKET: &str = "MODEL_BUCKET";
    pub const MODEL_KEY: &str = "MODEL_KEY";
    pub const MODEL_VERSION_ID: &str = "MODEL_VERSION_ID";
    pub const MODEL_SHA256: &str = "MODEL_SHA256";
    pub const MANIFEST_KEY: &str = "MANIFEST_KEY";
    pub const MANIFEST_VERSION_ID: &str = "MANIFEST_VERSION_ID";
    pub const MAX_BATCH: &str = "MAX_BATCH";
    pub const BATCH_MAX_ROWS: &str = "BATCH_MAX_ROWS";
    pub const BATCH_MAX_BYTES: &str = "BATCH_MAX_BYTES";
    /// Every variable, required ones first.
    pub const ALL: [&str; 9] = [
        MODEL_BUCKET,
        MODEL_KEY,
        MODEL_VERSION_ID,
        MODEL_SHA256,
        MANIFEST_KEY,
        MANIFEST_VERSION_ID,
        MAX_BATCH,
        BATCH_MAX_ROWS,
        BATCH_MAX_BYTES,
    ];
}

//! Names derived from `<project>-<env>`: stacks, buckets, function, queue, topic, log
//! groups, repository and the Cognito domain prefix. Owns AWS's length and charset rules
//! for each; a name that would be too long is shortened deterministically (a prefix plus
//! a stable hash of the full name), so the same env always gets the same names. Must not
//! read files or talk to AWS.

/// The three stack kinds of an env, in deployment order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StackKind {
    Storage,
    Auth,
    Service,
}

impl StackKind {
    /// Every kind in the order stacks are created (and the reverse of destroy order).
    pub const ALL: [StackKind; 3] = [StackKind::Storage, StackKind::Auth, StackKind::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            StackKind::Storage => "storage",
            StackKind::Auth => "auth",
            StackKind::Service => "service",
        }
    }
}

impl std::fmt::Display for StackKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CloudFormation stack names: 128 characters, `[A-Za-z][A-Za-z0-9-]*`.
pub const STACK_NAME_MAX: usize = 128;
/// S3 bucket names: 3-63 characters.
pub const BUCKET_NAME_MAX: usize = 63;
/// Lambda function names: 64 characters.
pub const FUNCTION_NAME_MAX: usize = 64;
/// Cognito user pool domain prefixes: 63 characters (lowercase, digits, hyphens).
pub const DOMAIN_PREFIX_MAX: usize = 63;
/// SQS queue names: 80 characters.
pub const QUEUE_NAME_MAX: usize = 80;
/// ECR repository names: 256, but we keep them readable.
pub const REPOSITORY_NAME_MAX: usize = 64;
/// Account ids are always 12 digits; bucket and domain names embed one via `${AWS::AccountId}`.
pub const ACCOUNT_ID_LEN: usize = 12;
/// Words Cognito refuses inside a domain prefix.
const DOMAIN_RESERVED: [&str; 3] = ["aws", "amazon", "cognito"];
/// Hex digits of the stable hash appended to shortened names.
const HASH_LEN: usize = 8;

/// First `len` hex digits of sha256(`input`): stable across runs, platforms and versions.
pub fn short_hash(input: &str, len: usize) -> String {
    let digest = crate::digest::sha256_hex(input);
    digest[..len.min(digest.len())].to_string()
}

/// `name` if it fits in `max` characters; otherwise a prefix of it, a hyphen and a hash
/// of the whole name, `max` characters at most. Trailing hyphens of the prefix are
/// dropped so shortened names never contain `--`.
pub fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let hash = short_hash(name, HASH_LEN);
    let keep = max.saturating_sub(HASH_LEN + 1);
    let prefix = name[..keep].trim_end_matches('-');
    if prefix.is_empty() {
        return hash;
    }
    format!("{prefix}-{hash}")
}

/// Every name derived from the project and env. Names that embed the account id or
/// region are given as CloudFormation `!Sub` patterns (`${AWS::AccountId}`), with the
/// budget for those parts already reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `<project>-<env>`, shortened to leave room for the longest suffix we add.
    pub base: String,
    pub storage_stack: String,
    pub auth_stack: String,
    pub service_stack: String,
    /// Sub pattern: `<prefix>-models-${AWS::AccountId}-${AWS::Region}`.
    pub model_bucket_sub: String,
    /// Sub pattern for the access-log bucket.
    pub log_bucket_sub: String,
    pub function: String,
    pub function_log_group: String,
    pub access_log_group: String,
    pub dead_letter_queue: String,
    pub alarm_topic: String,
    pub repository: String,
    pub user_pool: String,
    /// Sub pattern: `<prefix>-${AWS::AccountId}`; account ids are globally unique, so is this.
    pub pool_domain_sub: String,
    /// OAuth resource server identifier; the scope is `<identifier>/predict`.
    pub resource_server: String,
    pub rest_api: String,
    pub dashboard: String,
    /// The SageMaker endpoint of a `backend: sagemaker` env (at most 63 characters).
    pub endpoint: String,
    /// The log group SageMaker writes the endpoint's container logs to
    /// (`/aws/sagemaker/Endpoints/<endpoint>`), declared by the service stack.
    pub endpoint_log_group: String,
}

impl Names {
    /// Derive every name for `project` and `env` in `region`. The inputs must already be
    /// valid (config validation guarantees lowercase letters, digits and hyphens).
    pub fn derive(project: &str, env: &str, region: &str) -> Names {
        let full = format!("{project}-{env}");
        // The longest suffix added to `base` is "-predict" / "-service" (8 characters);
        // 40 keeps every derived name well inside the tightest limit below.
        let base = shorten(&full, 40);
        let stack = |kind: StackKind| shorten(&format!("{full}-{kind}"), STACK_NAME_MAX);
        // "<prefix>-models-<12 digits>-<region>" must fit in 63.
        let bucket_budget = BUCKET_NAME_MAX - "-models-".len() - ACCOUNT_ID_LEN - 1 - region.len();
        let bucket_prefix = shorten(&full, bucket_budget);
        let domain_budget = DOMAIN_PREFIX_MAX - 1 - ACCOUNT_ID_LEN;
        let domain_prefix = if DOMAIN_RESERVED.iter().any(|w| full.contains(w)) {
            // A reserved word cannot be shortened away reliably, so use the hash alone.
            format!("irisctl-{}", short_hash(&full, 16))
        } else {
            shorten(&full, domain_budget)
        };
        Names {
            storage_stack: stack(StackKind::Storage),
            auth_stack: stack(StackKind::Auth),
            service_stack: stack(StackKind::Service),
            model_bucket_sub: format!(
                "{bucket_prefix}-models-${{AWS::AccountId}}-${{AWS::Region}}"
            ),
            log_bucket_sub: format!("{bucket_prefix}-logs-${{AWS::AccountId}}-${{AWS::Region}}"),
            function: shorten(&format!("{full}-predict"), FUNCTION_NAME_MAX),
            function_log_group: format!(
                "/aws/lambda/{}",
                shorten(&format!("{full}-predict"), FUNCTION_NAME_MAX)
            ),
            access_log_group: format!("/aws/apigateway/{base}-access"),
            dead_letter_queue: shorten(&format!("{full}-dlq"), QUEUE_NAME_MAX),
            alarm_topic: format!("{base}-alarms"),
            repository: shorten(&full, REPOSITORY_NAME_MAX),
            user_pool: format!("{base}-users"),
            pool_domain_sub: format!("{domain_prefix}-${{AWS::AccountId}}"),
            resource_server: format!("{base}-api"),
            rest_api: format!("{base}-api"),
            dashboard: format!("{base}-overview"),
            endpoint: format!("{base}-endpoint"),
            endpoint_log_group: format!("/aws/sagemaker/Endpoints/{base}-endpoint"),
            base,
        }
    }

    /// The stack name of `kind`.
    pub fn stack(&self, kind: StackKind) -> &str {
        match kind {
            StackKind::Storage => &self.storage_stack,
            StackKind::Auth => &self.auth_stack,
            StackKind::Service => &self.service_stack,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONGEST_REGION: &str = "ap-southeast-5";
    const SAMPLE_ACCOUNT: &str = "123456789012";

    fn expand(sub: &str, region: &str) -> String {
        sub.replace("${AWS::AccountId}", SAMPLE_ACCOUNT)
            .replace("${AWS::Region}", region)
    }

    fn is_bucket_name(name: &str) -> bool {
        (3..=BUCKET_NAME_MAX).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--")
    }

    #[test]
    fn short_names_are_kept_as_they_are() {
        let names = Names::derive("iris", "dev", "us-east-1");
        assert_eq!(names.storage_stack, "iris-dev-storage");
        assert_eq!(names.service_stack, "iris-dev-service");
        assert_eq!(names.function, "iris-dev-predict");
        assert_eq!(
            names.model_bucket_sub,
            "iris-dev-models-${AWS::AccountId}-${AWS::Region}"
        );
        assert_eq!(names.pool_domain_sub, "iris-dev-${AWS::AccountId}");
    }

    #[test]
    fn long_env_names_fit_every_limit_and_stay_stable() {
        let env = format!("feature-{}", "very-long-branch-name-".repeat(6));
        let env = env.trim_end_matches('-');
        let a = Names::derive("iris", env, LONGEST_REGION);
        let b = Names::derive("iris", env, LONGEST_REGION);
        assert_eq!(a, b, "names must be deterministic");
        assert!(a.function.len() <= FUNCTION_NAME_MAX, "{}", a.function);
        assert!(a.storage_stack.len() <= STACK_NAME_MAX);
        assert!(is_bucket_name(&expand(&a.model_bucket_sub, LONGEST_REGION)));
        assert!(is_bucket_name(&expand(&a.log_bucket_sub, LONGEST_REGION)));
        let domain = expand(&a.pool_domain_sub, LONGEST_REGION);
        assert!(domain.len() <= DOMAIN_PREFIX_MAX, "{domain}");
        assert!(a.dead_letter_queue.len() <= QUEUE_NAME_MAX);
        assert!(!a.function.contains("--"));
    }

    #[test]
    fn different_long_envs_get_different_names() {
        let long = "x".repeat(70);
        let a = Names::derive("iris", &format!("feature-a{long}"), "us-east-1");
        let b = Names::derive("iris", &format!("feature-b{long}"), "us-east-1");
        assert_ne!(a.function, b.function);
        assert_ne!(a.model_bucket_sub, b.model_bucket_sub);
    }

    #[test]
    fn domain_prefix_avoids_words_cognito_refuses() {
        let names = Names::derive("iris", "feature-aws-migration", "us-east-1");
        let domain = expand(&names.pool_domain_sub, "us-east-1");
        for word in DOMAIN_RESERVED {
            assert!(!domain.contains(word), "{domain} contains {word}");
        }
        assert!(domain.len() <= DOMAIN_PREFIX_MAX);
    }

    #[test]
    fn shorten_never_exceeds_the_limit() {
        for len in 1..120 {
            let name = "a-".repeat(len);
            for max in [20, 40, 63] {
                let short = shorten(&name, max);
                assert!(short.len() <= max, "{short} > {max}");
                assert!(!short.contains("--"));
            }
        }
    }
}

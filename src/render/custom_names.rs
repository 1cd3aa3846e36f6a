//! Which resources of a rendered template carry a custom name: a name property that is
//! the resource's identity in its service (unique per account and region, or globally).
//! CloudFormation replaces a resource by creating the new one before deleting the old,
//! so a replacement under the same custom name fails ("CloudFormation cannot update a
//! stack when a custom-named resource requires replacing itself"): deploy refuses such a
//! change set in every env instead of letting the update fail and roll back. Names that
//! are not unique (a user pool's or REST API's name) do not count. Must not call AWS.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cfn;

/// Resource types whose name property is their identity, with that property.
pub const NAME_PROPERTIES: [(&str, &str); 14] = [
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::KMS::Alias", "AliasName"),
    ("AWS::ECR::Repository", "RepositoryName"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::Lambda::Function", "FunctionName"),
    ("AWS::SQS::Queue", "QueueName"),
    ("AWS::SNS::Topic", "TopicName"),
    ("AWS::CloudWatch::Dashboard", "DashboardName"),
    ("AWS::CloudWatch::Alarm", "AlarmName"),
    ("AWS::Cognito::UserPoolDomain", "Domain"),
    ("AWS::Cognito::UserPoolResourceServer", "Identifier"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::WAFv2::WebACL", "Name"),
    ("AWS::SageMaker::Endpoint", "EndpointName"),
];

/// Logical id → name property of every custom-named resource in `body`.
pub fn custom_named(body: &str) -> Result<BTreeMap<String, &'static str>, cfn::CfnParseError> {
    let doc = cfn::parse(body)?;
    let mut named = BTreeMap::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_object) else {
        return Ok(named);
    };
    for (id, r) in resources {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let Some((_, property)) = NAME_PROPERTIES.iter().find(|(t, _)| *t == ty) else {
            continue;
        };
        if r.get("Properties").and_then(|p| p.get(*property)).is_some() {
            named.insert(id.clone(), *property);
        }
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::render::render_env;

    #[test]
    fn the_envs_named_resources_are_found_and_unnamed_ones_are_not() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"));
        let config = Config::load(dir, "dev").expect("env loads");
        let stacks = render_env(&config).expect("renders");
        let storage = custom_named(&stacks[0].body).expect("parses");
        assert_eq!(storage.get("ModelBucket"), Some(&"BucketName"));
        assert_eq!(storage.get("Repository"), Some(&"RepositoryName"));
        assert_eq!(storage.get("DataKeyAlias"), Some(&"AliasName"));
        assert!(!storage.contains_key("DataKey"), "a KMS key has no name");
        let auth = custom_named(&stacks[1].body).expect("parses");
        assert!(!auth.contains_key("UserPool"), "pool names are not unique");
        assert_eq!(auth.get("Domain"), Some(&"Domain"));
        let service = custom_named(&stacks[2].body).expect("parses");
        for id in [
            "Function",
            "FunctionLogGroup",
            "ExecutionLogGroup",
            "WebAcl",
            "AlarmTopic",
        ] {
            assert!(service.contains_key(id), "{id}");
        }
        assert!(
            !service.contains_key("RestApi"),
            "REST API names are not unique"
        );
    }
}

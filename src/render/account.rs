//! The account bootstrap stack (templates/account.yaml.j2): once per account and region,
//! the API Gateway CloudWatch Logs role and the account setting naming it, and the managed
//! policy the identity that deploys envs needs (`DeployerPolicy`). Rendered with
//! the same settings as the env templates; it takes the region only (what it holds does
//! not depend on any env). Must not talk to AWS.

use serde_json::json;

use super::{RenderError, cfn};

/// The template's name and source.
pub const ACCOUNT_TEMPLATE: (&str, &str) = (
    "account.yaml.j2",
    include_str!("../../templates/account.yaml.j2"),
);

/// The output naming the role API Gateway logs with.
pub const ROLE_OUTPUT: &str = "CloudWatchRoleArn";

/// The output naming the managed policy the deploying identity needs.
pub const DEPLOYER_POLICY_OUTPUT: &str = "DeployerPolicyArn";

/// The bootstrap stack of one account and region, ready for CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStack {
    /// `irisctl-account-<region>`.
    pub name: String,
    pub body: String,
}

/// The stack name for `region`: one per account and region, no env in it.
pub fn stack_name(region: &str) -> String {
    format!("irisctl-account-{region}")
}

/// Render the bootstrap stack for `region`.
pub fn render(region: &str) -> Result<AccountStack, RenderError> {
    let (template, _) = ACCOUNT_TEMPLATE;
    let templates = super::environment()?;
    let body = templates
        .get_template(template)
        .and_then(|t| t.render(json!({"region": region})))
        .map_err(|source| RenderError::Template { template, source })?;
    cfn::parse(&body).map_err(|source| RenderError::Parse { template, source })?;
    Ok(AccountStack {
        name: stack_name(region),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_and_the_setting_outlive_the_stack() {
        let stack = render("eu-west-2").expect("renders");
        assert_eq!(stack.name, "irisctl-account-eu-west-2");
        let doc = cfn::parse(&stack.body).expect("parses");
        let resources = doc["Resources"].as_object().expect("resources");
        assert_eq!(resources.len(), 3);
        for (id, ty) in [
            ("ApiGatewayLogRole", "AWS::IAM::Role"),
            ("ApiGatewayAccount", "AWS::ApiGateway::Account"),
        ] {
            assert_eq!(resources[id]["Type"], ty);
            assert_eq!(resources[id]["DeletionPolicy"], "Retain", "{id}");
            assert_eq!(resources[id]["UpdateReplacePolicy"], "Retain", "{id}");
        }
        assert!(
            resources["ApiGatewayLogRole"]["Properties"]
                .get("RoleName")
                .is_none(),
            "a retained role must not block the next create with its name"
        );
        assert_eq!(
            doc["Outputs"][ROLE_OUTPUT]["Value"],
            serde_json::json!({"Fn::GetAtt": ["ApiGatewayLogRole", "Arn"]})
        );
    }

    #[test]
    fn rendering_is_deterministic_and_validates_clean() {
        let a = render("us-east-1").expect("renders");
        assert_eq!(a, render("us-east-1").expect("renders"));
        let stack = crate::render::RenderedStack {
            name: a.name.clone(),
            kind: crate::naming::StackKind::Storage,
            body: a.body.clone(),
            parameters_declared: Vec::new(),
        };
        let findings = crate::validate::validate_stack(
            &stack,
            crate::validate::Allowances {
                open_methods: false,
            },
        );
        assert!(findings.is_empty(), "{findings:#?}");
    }

    /// Every action the deployer policy grants on `*` is one AWS authorizes only on `*`
    /// (a create before the resource has an id, or an account-wide read); everything else
    /// is scoped to the project's names, or to its tagged keys and pools.
    #[test]
    fn the_deployer_policy_is_scoped_to_the_project() {
        const ONLY_ON_STAR: [&str; 8] = [
            "cloudformation:DescribeStacks",
            "cloudformation:ListStacks",
            "kms:CreateKey",
            "kms:ListAliases",
            "cognito-idp:CreateUserPool",
            "cognito-idp:DescribeUserPoolDomain",
            "lambda:GetAccountSettings",
            "logs:DescribeLogGroups",
        ];
        let doc = cfn::parse(&render("us-east-1").expect("renders").body).expect("parses");
        let policy = &doc["Resources"]["DeployerPolicy"];
        assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
        let statements = policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements");
        let as_list = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])
        };
        let mut seen_scoped = 0;
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            let actions: Vec<String> = as_list(&statement["Action"])
                .iter()
                .map(|a| a.as_str().expect("action").to_owned())
                .collect();
            for action in &actions {
                assert!(!action.contains('*'), "wildcard action {action}");
            }
            for resource in as_list(&statement["Resource"]) {
                if resource == "*" {
                    for action in &actions {
                        assert!(ONLY_ON_STAR.contains(&action.as_str()), "{action} on *");
                    }
                    continue;
                }
                let pattern = resource["Fn::Sub"].as_str().expect("an ARN pattern");
                let scoped = pattern.contains("${Project}-")
                    || statement["Condition"]["StringEquals"]
                        .get("aws:ResourceTag/irisctl:project")
                        .is_some()
                    || pattern.contains("apigateway:")
                    || pattern.contains("API-Gateway-Execution-Logs_")
                    || pattern.contains("managedruleset");
                assert!(scoped, "{} is not scoped to the project", pattern);
                seen_scoped += 1;
            }
        }
        assert!(seen_scoped > 10);
        assert_eq!(
            doc["Outputs"][DEPLOYER_POLICY_OUTPUT]["Value"],
            serde_json::json!({"Ref": "DeployerPolicy"})
        );
    }
}

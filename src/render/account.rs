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
pub const DEPLOYER_POLICY_OUTPUT: &str = "DeployerPolicyArns";

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

/// The env whose name stands for every pull-request env (`pr-<number>`): its deploy
/// policy covers `<project>-pr-*`.
pub const PR_ENVS: &str = "pr";

/// What the bootstrap stack holds beyond the API Gateway logging role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The `project` of the envs the deploy policies cover (environments/*.yaml).
    pub project: String,
    /// One deploy policy per env (and a GitHub role per env with `github`).
    pub deploy_envs: Vec<String>,
    pub github: Option<GitHub>,
}

/// GitHub Actions' OIDC access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHub {
    /// `OWNER/REPO`: the only repository whose jobs may assume the roles.
    pub repository: String,
    /// An existing provider for token.actions.githubusercontent.com (IAM holds one per
    /// account); `None` creates it in this stack.
    pub provider_arn: Option<String>,
}

/// The output holding env `env`'s deploy policy ARNs (comma-separated: IAM's size limit on
/// one managed policy splits the statements in three).
pub fn deploy_policy_output(env: &str) -> String {
    format!("{DEPLOY_POLICY_OUTPUT_PREFIX}{}", logical_suffix(env))
}

/// What every env's deploy policies output starts with.
pub const DEPLOY_POLICY_OUTPUT_PREFIX: &str = "DeployPolicyArns";

/// The output holding env `env`'s GitHub deploy role ARN.
pub fn deploy_role_output(env: &str) -> String {
    format!("DeployRoleArn{}", logical_suffix(env))
}

/// The output holding the pull-request plan role's ARN.
pub const PLAN_ROLE_OUTPUT: &str = "PlanRoleArn";

/// `staging` → `Staging`: logical ids and outputs take letters and digits only (the
/// caller checks env names are lowercase letters and digits).
fn logical_suffix(env: &str) -> String {
    let mut chars = env.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Render the bootstrap stack for `region`: the logging role only.
pub fn render(region: &str) -> Result<AccountStack, RenderError> {
    render_with(region, &Options::default())
}

/// Render the bootstrap stack for `region` with `options`.
pub fn render_with(region: &str, options: &Options) -> Result<AccountStack, RenderError> {
    let (template, _) = ACCOUNT_TEMPLATE;
    let templates = super::environment()?;
    let deploy_envs: Vec<_> = options
        .deploy_envs
        .iter()
        .map(|env| {
            let (prefix, repository, env_tag) = if env == PR_ENVS {
                let p = format!("{}-pr-", options.project);
                (p.clone(), format!("{p}*"), "pr-*".to_owned())
            } else {
                let full = format!("{}-{env}", options.project);
                (format!("{full}-"), full, env.clone())
            };
            json!({"env": env, "id": logical_suffix(env), "prefix": prefix,
                   "repository": repository, "env_tag": env_tag})
        })
        .collect();
    let github = options.github.as_ref().map(|g| {
        json!({
            "repository": g.repository,
            "create_provider": g.provider_arn.is_none(),
            "provider": g.provider_arn.clone().unwrap_or_default(),
        })
    });
    let body = templates
        .get_template(template)
        .and_then(|t| {
            t.render(json!({
                "region": region,
                "project": options.project,
                "deploy_envs": deploy_envs,
                "github": github,
            }))
        })
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
        // The role, the setting and the deployer's three policies.
        assert_eq!(resources.len(), 5);
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

    fn github(provider_arn: Option<&str>) -> Options {
        Options {
            project: "iris".into(),
            deploy_envs: vec!["pr".into(), "staging".into(), "prod".into()],
            github: Some(GitHub {
                repository: "acme/iris".into(),
                provider_arn: provider_arn.map(String::from),
            }),
        }
    }

    #[test]
    fn the_plain_call_holds_the_logging_role_only() {
        assert_eq!(
            render("us-east-1").expect("renders"),
            render_with("us-east-1", &Options::default()).expect("renders")
        );
    }

    #[test]
    fn each_env_role_trusts_only_its_github_environment_of_the_one_repository() {
        let stack = render_with("us-east-1", &github(None)).expect("renders");
        let doc = cfn::parse(&stack.body).expect("parses");
        let resources = doc["Resources"].as_object().expect("resources");
        assert_eq!(
            resources["GitHubOidcProvider"]["Type"],
            "AWS::IAM::OIDCProvider"
        );
        assert_eq!(
            resources["GitHubOidcProvider"]["Properties"]["Url"],
            "https://token.actions.githubusercontent.com"
        );
        for (env, id) in [("pr", "Pr"), ("staging", "Staging"), ("prod", "Prod")] {
            let role = &resources[&format!("DeployRole{id}")];
            let statement = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
            assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
            assert_eq!(
                statement["Principal"]["Federated"],
                json!({"Ref": "GitHubOidcProvider"})
            );
            let equals = &statement["Condition"]["StringEquals"];
            assert_eq!(
                equals["token.actions.githubusercontent.com:sub"],
                format!("repo:acme/iris:environment:{env}")
            );
            assert_eq!(
                equals["token.actions.githubusercontent.com:aud"],
                "sts.amazonaws.com"
            );
            assert_eq!(
                role["Properties"]["ManagedPolicyArns"],
                json!([
                    {"Ref": format!("DeployPolicy{id}")},
                    {"Ref": format!("DeployPolicy{id}Compute")},
                    {"Ref": format!("DeployPolicy{id}Monitoring")},
                ])
            );
            assert!(doc["Outputs"].get(deploy_role_output(env)).is_some());
            assert!(doc["Outputs"].get(deploy_policy_output(env)).is_some());
        }
        let plan = &resources["PlanRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(
            plan["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
            "repo:acme/iris:pull_request"
        );
    }

    #[test]
    fn a_deploy_policy_reaches_only_its_envs_names() {
        let stack = render_with("us-east-1", &github(None)).expect("renders");
        let doc = cfn::parse(&stack.body).expect("parses");
        let text = |id: &str| doc["Resources"][id]["Properties"]["PolicyDocument"].to_string();
        assert!(text("DeployPolicyStaging").contains("stack/iris-staging-*/*"));
        assert!(text("DeployPolicyStaging").contains("repository/iris-staging\""));
        assert!(!text("DeployPolicyStaging").contains("iris-prod"));
        assert!(text("DeployPolicyPr").contains("stack/iris-pr-*/*"));
        assert!(text("DeployPolicyPr").contains("repository/iris-pr-*"));
        let plan = doc["Resources"]["PlanPolicy"]["Properties"]["PolicyDocument"].to_string();
        assert!(!plan.contains("ExecuteChangeSet"), "{plan}");
    }

    /// The per-env policies are the project-wide statements, narrowed: same Sids, every
    /// name `<project>-<env>-`, tagged keys and pools also of the env.
    #[test]
    fn a_deploy_policy_is_the_deployer_policy_narrowed_to_its_env() {
        let stack = render_with("us-east-1", &github(None)).expect("renders");
        let doc = cfn::parse(&stack.body).expect("parses");
        // A policy's statements across its three parts (`id`, `idCompute`, `idMonitoring`).
        let statements = |id: &str| {
            ["", "Compute", "Monitoring"]
                .iter()
                .flat_map(|part| {
                    doc["Resources"][format!("{id}{part}")]["Properties"]["PolicyDocument"]
                        ["Statement"]
                        .as_array()
                        .expect("statements")
                        .clone()
                })
                .collect::<Vec<_>>()
        };
        let sids = |id: &str| -> Vec<serde_json::Value> {
            statements(id).iter().map(|s| s["Sid"].clone()).collect()
        };
        assert_eq!(sids("DeployPolicyStaging"), sids("DeployerPolicy"));
        for (id, env) in [
            ("DeployPolicyStaging", "staging"),
            ("DeployPolicyPr", "pr-*"),
        ] {
            let text = serde_json::Value::Array(statements(id)).to_string();
            assert!(
                !text.contains("${Project}-"),
                "{id} has a project-wide name"
            );
            let tagged: Vec<_> = statements(id)
                .into_iter()
                .filter(|s| {
                    s["Condition"]["StringEquals"]["aws:ResourceTag/irisctl:project"].is_object()
                })
                .collect();
            assert_eq!(tagged.len(), 3, "{id}: keys, pools, SageMaker models");
            for s in tagged {
                assert_eq!(
                    s["Condition"]["StringLike"]["aws:ResourceTag/irisctl:env"],
                    env
                );
            }
            // What CloudFormation creates with the stack's tags: only with the env's tag.
            let created: Vec<_> = statements(id)
                .into_iter()
                .filter(|s| {
                    s["Condition"]["StringEquals"]["aws:RequestTag/irisctl:project"].is_object()
                })
                .collect();
            assert_eq!(
                created.len(),
                1,
                "{id}: SageMaker models and endpoint configs"
            );
            assert_eq!(
                created[0]["Condition"]["StringLike"]["aws:RequestTag/irisctl:env"],
                env
            );
        }
        let plain = cfn::parse(&render("us-east-1").expect("renders").body).expect("parses");
        assert!(plain["Resources"].get("DeployPolicyStaging").is_none());
        assert!(
            !plain["Resources"]["DeployerPolicy"]
                .to_string()
                .contains("irisctl:env")
        );
    }

    #[test]
    fn an_existing_provider_is_reused_not_created() {
        let arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
        let stack = render_with("eu-west-1", &github(Some(arn))).expect("renders");
        let doc = cfn::parse(&stack.body).expect("parses");
        assert!(doc["Resources"].get("GitHubOidcProvider").is_none());
        assert_eq!(
            doc["Resources"]["DeployRoleProd"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                [0]["Principal"]["Federated"],
            arn
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
        const ONLY_ON_STAR: [&str; 15] = [
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:DescribeScalingPolicies",
            "cloudformation:DescribeStacks",
            "cloudformation:ListStacks",
            "kms:CreateKey",
            "kms:ListAliases",
            "cognito-idp:CreateUserPool",
            "cognito-idp:DescribeUserPoolDomain",
            "lambda:GetAccountSettings",
            "logs:DescribeLogGroups",
            "tag:GetResources",
        ];
        let doc = cfn::parse(&render("us-east-1").expect("renders").body).expect("parses");
        let mut statements = Vec::new();
        for id in DEPLOYER_POLICIES {
            let policy = &doc["Resources"][id];
            assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{id}");
            statements.extend(
                policy["Properties"]["PolicyDocument"]["Statement"]
                    .as_array()
                    .expect("statements")
                    .iter()
                    .cloned(),
            );
        }
        let as_list = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])
        };
        let mut seen_scoped = 0;
        for statement in &statements {
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
                    || statement["Condition"]["StringEquals"]
                        .get("aws:RequestTag/irisctl:project")
                        .is_some()
                    || pattern.ends_with(
                        "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                    )
                    || pattern.contains("apigateway:")
                    || pattern.contains("API-Gateway-Execution-Logs_")
                    || pattern.contains("managedruleset");
                assert!(scoped, "{} is not scoped to the project", pattern);
                seen_scoped += 1;
            }
        }
        assert!(seen_scoped > 10);
        let refs: Vec<serde_json::Value> = DEPLOYER_POLICIES
            .iter()
            .map(|id| serde_json::json!({ "Ref": id }))
            .collect();
        assert_eq!(
            doc["Outputs"][DEPLOYER_POLICY_OUTPUT]["Value"],
            serde_json::json!({"Fn::Join": [",", refs]})
        );
    }

    /// The project-wide deployer's three policies.
    const DEPLOYER_POLICIES: [&str; 3] = [
        "DeployerPolicy",
        "DeployerPolicyCompute",
        "DeployerPolicyMonitoring",
    ];

    /// IAM refuses a managed policy document over 6,144 characters, whitespace not
    /// counted (IAM and STS quotas, "Managed policy size"). Measured with every `${...}`
    /// replaced by its longest likely value (a 14-character region, a 12-digit account, a
    /// 16-character project, the longest partition), and for the per-env policies the
    /// longest env prefix a name can get.
    #[test]
    fn every_managed_policy_fits_iams_size_limit() {
        const LIMIT: usize = 6144;
        let options = Options {
            project: "abcdefghijklmnop".into(),
            deploy_envs: vec![
                "pr".into(),
                "staging".into(),
                "feature-a-very-long-branch-name-that-needs-shortening".into(),
            ],
            github: Some(GitHub {
                repository: "an-organisation/a-repository".into(),
                provider_arn: None,
            }),
        };
        let doc = cfn::parse(
            &render_with("ap-southeast-4", &options)
                .expect("renders")
                .body,
        )
        .expect("parses");
        let mut measured = 0;
        for (id, resource) in doc["Resources"].as_object().expect("resources") {
            if resource["Type"] != "AWS::IAM::ManagedPolicy" {
                continue;
            }
            let text = serde_json::to_string(&resource["Properties"]["PolicyDocument"])
                .expect("json")
                .replace("{\"Fn::Sub\":", "")
                .replace("${AWS::Partition}", "aws-iso-b")
                .replace("${AWS::Region}", "ap-southeast-4")
                .replace("${AWS::AccountId}", "123456789012")
                .replace("${Project}", "abcdefghijklmnop");
            let size = text.chars().filter(|c| !c.is_whitespace()).count();
            assert!(
                size <= LIMIT,
                "{id}: {size} characters, IAM takes at most {LIMIT}"
            );
            measured += 1;
        }
        // 3 project-wide, 3 for each of the 3 envs, the pull-request plan policy.
        assert_eq!(measured, 13);
    }
}

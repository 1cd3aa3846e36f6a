//! The delivery pipeline stack (templates/pipeline.yaml.j2): CodePipeline V2 over a
//! CodeConnections source, one CodeBuild project per step running the repository's
//! buildspecs (pipeline/buildspec-*.yml), staging, a manual approval, then prod. Rendered
//! from the names of the two envs it delivers to; no env owns it. Must not talk to AWS.

use serde_json::json;

use super::{RenderError, cfn};

/// The template's name and source.
pub const PIPELINE_TEMPLATE: (&str, &str) = (
    "pipeline.yaml.j2",
    include_str!("../../templates/pipeline.yaml.j2"),
);

/// The buildspecs the CodeBuild projects run, relative to the repository root.
pub const BUILDSPECS: [&str; 4] = [
    "pipeline/buildspec-build.yml",
    "pipeline/buildspec-staging.yml",
    "pipeline/buildspec-plan.yml",
    "pipeline/buildspec-prod.yml",
];

/// What the pipeline delivers: `staging` first, then `env` after the approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub project: String,
    pub staging: String,
    pub env: String,
}

/// The rendered pipeline stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineStack {
    /// `irisctl-pipeline-<project>-<env>` (also the pipeline's name).
    pub name: String,
    pub body: String,
}

/// The stack (and pipeline) name; `irisctl-` keeps it out of every env's `<project>-<env>-`.
pub fn stack_name(target: &Target) -> String {
    format!("irisctl-pipeline-{}-{}", target.project, target.env)
}

/// Render the pipeline stack for `target`.
pub fn render(target: &Target) -> Result<PipelineStack, RenderError> {
    let (template, _) = PIPELINE_TEMPLATE;
    let templates = super::environment()?;
    let name = stack_name(target);
    let [build, staging, plan, prod] = BUILDSPECS;
    let project = |id: &str, suffix: &str, buildspec: &str, env: &str, policy: Option<&str>| {
        json!({
            "id": id,
            "name": format!("{name}-{suffix}"),
            "description": format!("{suffix} step of the {name} pipeline ({buildspec})"),
            "buildspec": buildspec,
            "env": env,
            "policy": policy,
            "plan": id == "Plan",
            "timeout": if id == "Build" { 90 } else { 60 },
            "compute": if id == "Build" { "BUILD_GENERAL1_LARGE" } else { "BUILD_GENERAL1_SMALL" },
        })
    };
    let projects = [
        project("Build", "build", build, &target.staging, None),
        project(
            "Staging",
            "staging",
            staging,
            &target.staging,
            Some("StagingDeployPolicyArns"),
        ),
        project("Plan", "plan", plan, &target.env, None),
        project(
            "Prod",
            "prod",
            prod,
            &target.env,
            Some("ProdDeployPolicyArns"),
        ),
    ];
    let body = templates
        .get_template(template)
        .and_then(|t| {
            t.render(json!({
                "name": name,
                "project": target.project,
                "staging": target.staging,
                "env": target.env,
                "projects": projects,
            }))
        })
        .map_err(|source| RenderError::Template { template, source })?;
    cfn::parse(&body).map_err(|source| RenderError::Parse { template, source })?;
    Ok(PipelineStack { name, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn target() -> Target {
        Target {
            project: "iris".into(),
            staging: "staging".into(),
            env: "prod".into(),
        }
    }

    fn doc() -> Value {
        cfn::parse(&render(&target()).expect("renders").body).expect("parses")
    }

    #[test]
    fn stages_run_in_order_with_the_approval_before_prod() {
        let doc = doc();
        let pipeline = &doc["Resources"]["Pipeline"]["Properties"];
        assert_eq!(pipeline["PipelineType"], "V2");
        assert_eq!(pipeline["ExecutionMode"], "QUEUED");
        let stages: Vec<&str> = pipeline["Stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| s["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(stages, ["Source", "Build", "Staging", "Approval", "Prod"]);
        let source = &pipeline["Stages"][0]["Actions"][0]["ActionTypeId"];
        assert_eq!(source["Provider"], "CodeStarSourceConnection");
        let approval = &pipeline["Stages"][3]["Actions"][0];
        assert_eq!(approval["ActionTypeId"]["Provider"], "Manual");
        let message = approval["Configuration"]["CustomData"]
            .as_str()
            .expect("text");
        assert!(message.contains("#{Staging.BATCH_SUMMARY}"), "{message}");
        assert!(message.contains("#{ProdPlan.PLAN_SUMMARY}"), "{message}");
        // CodePipeline takes at most 500 characters of custom data.
        assert!(message.len() <= 500);
        // Prod deploys the Build stage's output, not a new build.
        let prod = &pipeline["Stages"][4]["Actions"][0];
        assert_eq!(prod["InputArtifacts"][0]["Name"], "Release");
    }

    #[test]
    fn each_project_runs_its_buildspec_with_only_its_own_policy() {
        let doc = doc();
        let resources = &doc["Resources"];
        for (id, buildspec, policy) in [
            ("Build", BUILDSPECS[0], None),
            ("Staging", BUILDSPECS[1], Some("StagingDeployPolicyArns")),
            ("Plan", BUILDSPECS[2], None),
            ("Prod", BUILDSPECS[3], Some("ProdDeployPolicyArns")),
        ] {
            let project = &resources[&format!("{id}Project")]["Properties"];
            assert_eq!(project["Source"]["BuildSpec"], buildspec, "{id}");
            let role = &resources[&format!("{id}Role")]["Properties"];
            match policy {
                Some(p) => assert_eq!(role["ManagedPolicyArns"], json!({"Ref": p}), "{id}"),
                None => assert!(role.get("ManagedPolicyArns").is_none(), "{id}"),
            }
            assert!(
                !role.to_string().contains("ExecuteChangeSet"),
                "{id} must not execute a change set by itself"
            );
        }
    }

    #[test]
    fn every_buildspec_is_in_the_repository() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for buildspec in BUILDSPECS {
            assert!(root.join(buildspec).is_file(), "{buildspec} is missing");
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(render(&target()).expect("a"), render(&target()).expect("b"));
        assert_eq!(stack_name(&target()), "irisctl-pipeline-iris-prod");
    }
}

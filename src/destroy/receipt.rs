//! The teardown receipt: after destroy, what is still there that belongs to the env.
//! Pure: [`Facts`] (gathered by [`super::look`] through the `aws` wrappers) in, a
//! [`Receipt`] out; destroy and gc exit 1 unless it is clean.
//!
//! What counts, and why:
//! - A resource the Resource Groups Tagging API lists with the env's tags. AWS documents
//!   that GetResources returns "tagged or previously tagged" resources, so a hit is only a
//!   lead. Where the owning service answers cheaply (S3, CloudWatch Logs, SQS, Lambda,
//!   KMS) the hit was confirmed: gone is a stale listing, a KMS key scheduled for deletion
//!   counts as gone. A hit of another type that CloudFormation created in one of the env's
//!   (now deleted) stacks, by its `aws:cloudformation:stack-name` tag, was deleted with
//!   that stack and is only reported as a stale listing; any other hit is a leftover.
//! - Log groups under the env's prefixes, the function's versions, and the fixed names
//!   preflight checks (buckets, repository, KMS alias, Cognito domain): each one found is a
//!   leftover.
//! - In a protected env (`DeletionPolicy: Retain`) what the stacks kept is expected: it is
//!   listed as kept, not as a leftover.
//! - A read that failed leaves its part unchecked, which is not clean either: exit 0 means
//!   "looked everywhere and found nothing".

use serde::Serialize;

use crate::aws::tagging::Tagged;
use crate::preflight::facts::{Found, NameFact};

/// The tag CloudFormation puts on every resource it creates in a stack.
pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

/// Everything the receipt looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub env: String,
    /// Protected env: the stacks keep their stateful resources on delete.
    pub retain: bool,
    /// The env's stack names (a resource tagged with one of them came from its stacks).
    pub stacks: Vec<String>,
    /// The env's stacks that still exist (a failed or partial destroy).
    pub live_stacks: Vec<String>,
    /// What the tagging API lists with the env's tags, each confirmed where cheap.
    pub tagged: Result<Vec<TaggedHit>, String>,
    /// Log groups found under each of the env's prefixes.
    pub log_groups: Vec<(String, Result<Vec<String>, String>)>,
    /// The function's versions (empty: the function is gone).
    pub function: String,
    pub versions: Result<Vec<String>, String>,
    /// The fixed names preflight checks, asked again.
    pub names: Vec<NameFact>,
    /// The API Gateway execution log group, when the rest API id was known.
    pub execution_log_group: Option<ExecutionLogGroup>,
}

/// One tagging API hit and what its owning service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedHit {
    pub resource: Tagged,
    /// `None`: no cheap describe for this type; `Some(Ok(false))`: the service says it is
    /// gone.
    pub exists: Option<Result<bool, String>>,
}

/// API Gateway writes execution logs through the account's logging role, which may
/// create the group: one that arrives after the stack deleted it comes back. Destroy
/// deletes it (`swept`), waits, and looks again (`back`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionLogGroup {
    pub name: String,
    /// Destroy found it after the service stack was gone and deleted it.
    pub swept: bool,
    /// It exists at the final look.
    pub back: Result<bool, String>,
}

/// One thing found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `S3 bucket`, `log group`, `Lambda version`, `tagged resource`, ...
    pub kind: String,
    pub name: String,
    /// Where it was found: `tagging`, `log groups`, `lambda versions`, `names`.
    pub source: &'static str,
    /// What to do about it (leftovers), or why it does not count (kept, stale).
    pub note: String,
}

/// The receipt of one env.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub env: String,
    /// Nothing left and nothing unchecked.
    pub clean: bool,
    pub leftovers: Vec<Finding>,
    /// Kept on purpose (Retain in a protected env).
    pub kept: Vec<Finding>,
    /// Listed by the tagging API but gone (AWS lists previously tagged resources a while).
    pub stale: Vec<Finding>,
    /// What could not be looked at, and why.
    pub unchecked: Vec<String>,
    /// The execution log group came back after destroy deleted it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub recreated_execution_logs: bool,
}

impl Receipt {
    /// One line per finding, for a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.leftovers {
            out.push_str(&format!(
                "left over: {} {} (found by {}); {}\n",
                f.kind, f.name, f.source, f.note
            ));
        }
        for f in &self.kept {
            out.push_str(&format!("kept: {} {} ({})\n", f.kind, f.name, f.note));
        }
        for f in &self.stale {
            out.push_str(&format!("gone: {} {} ({})\n", f.kind, f.name, f.note));
        }
        for u in &self.unchecked {
            out.push_str(&format!("not checked: {u}\n"));
        }
        if self.clean {
            out.push_str(&format!(
                "receipt of env `{}`: clean (nothing tagged with it or named for it is left)\n",
                self.env
            ));
        } else {
            out.push_str(&format!(
                "receipt of env `{}`: {} left over, {} not checked\n",
                self.env,
                self.leftovers.len(),
                self.unchecked.len()
            ));
        }
        out
    }

    /// The error destroy and gc exit 1 with when the receipt is not clean.
    pub fn problem(&self) -> Option<String> {
        if self.clean {
            return None;
        }
        let mut parts: Vec<String> = self
            .leftovers
            .iter()
            .map(|f| format!("{} {}", f.kind, f.name))
            .collect();
        parts.extend(self.unchecked.iter().map(|u| format!("not checked: {u}")));
        Some(format!(
            "env `{}`: its stacks are gone but the receipt is not clean: {}. Remove each \
             leftover with the command shown, then run `irisctl destroy --env {}` again to \
             look once more",
            self.env,
            parts.join("; "),
            self.env
        ))
    }
}

/// The receipt over `facts`.
pub fn receipt(facts: &Facts) -> Receipt {
    let mut r = Receipt {
        env: facts.env.clone(),
        clean: false,
        leftovers: Vec::new(),
        kept: Vec::new(),
        stale: Vec::new(),
        unchecked: Vec::new(),
        recreated_execution_logs: false,
    };
    for stack in &facts.live_stacks {
        r.leftovers.push(Finding {
            kind: "CloudFormation stack".into(),
            name: stack.clone(),
            source: "stacks",
            note: format!(
                "still exists; run `irisctl destroy --env {}` again",
                facts.env
            ),
        });
    }
    let retained = |r: &mut Receipt, kind: &str, name: &str, source: &'static str, fix: String| {
        if facts.retain {
            r.kept.push(Finding {
                kind: kind.into(),
                name: name.into(),
                source,
                note: "DeletionPolicy Retain of a protected env; delete it by hand once its \
                       data is not needed"
                    .into(),
            });
        } else {
            r.leftovers.push(Finding {
                kind: kind.into(),
                name: name.into(),
                source,
                note: fix,
            });
        }
    };

    match &facts.tagged {
        Err(e) => r
            .unchecked
            .push(format!("resources tagged with the env ({e})")),
        Ok(hits) => {
            for hit in hits {
                let (kind, name) = describe_arn(&hit.resource.arn);
                let from_stack =
                    hit.resource.tags.get(STACK_NAME_TAG).is_some_and(|s| {
                        facts.stacks.contains(s) && !facts.live_stacks.contains(s)
                    });
                match &hit.exists {
                    Some(Err(e)) => r.unchecked.push(format!("{kind} {name} ({e})")),
                    Some(Ok(false)) => r.stale.push(Finding {
                        kind,
                        name,
                        source: "tagging",
                        note: "listed by the tagging API, but its service says it is gone \
                               (AWS lists previously tagged resources for a while)"
                            .into(),
                    }),
                    None if from_stack && !facts.retain => r.stale.push(Finding {
                        kind,
                        name,
                        source: "tagging",
                        note: "created by one of the env's stacks, deleted with it; still \
                               listed by the tagging API for a while"
                            .into(),
                    }),
                    Some(Ok(true)) | None if from_stack => {
                        let fix = fix_for(&kind, &name, &hit.resource.arn);
                        retained(&mut r, &kind, &name, "tagging", fix);
                    }
                    Some(Ok(true)) => r.leftovers.push(Finding {
                        note: fix_for(&kind, &name, &hit.resource.arn),
                        kind,
                        name,
                        source: "tagging",
                    }),
                    None => r.leftovers.push(Finding {
                        note: format!(
                            "tagged with env `{}` but made outside its stacks (or deleted \
                             moments ago: the tagging API lists previously tagged resources \
                             for a while); {}",
                            facts.env,
                            fix_for(&kind, &name, &hit.resource.arn)
                        ),
                        kind,
                        name,
                        source: "tagging",
                    }),
                }
            }
        }
    }

    let exec_name = facts.execution_log_group.as_ref().map(|g| g.name.as_str());
    for (prefix, found) in &facts.log_groups {
        match found {
            Err(e) => r
                .unchecked
                .push(format!("log groups under `{prefix}` ({e})")),
            Ok(groups) => {
                for g in groups.iter().filter(|g| Some(g.as_str()) != exec_name) {
                    retained(
                        &mut r,
                        "log group",
                        g,
                        "log groups",
                        format!("remove it: `aws logs delete-log-group --log-group-name {g}`"),
                    );
                }
            }
        }
    }
    if let Some(g) = &facts.execution_log_group {
        match &g.back {
            Err(e) => r
                .unchecked
                .push(format!("execution log group {} ({e})", g.name)),
            Ok(false) => {}
            Ok(true) => {
                r.recreated_execution_logs = g.swept;
                let why = if g.swept {
                    "API Gateway re-created it with late execution logs after destroy \
                     deleted it; "
                } else {
                    ""
                };
                retained(
                    &mut r,
                    "log group",
                    &g.name,
                    "log groups",
                    format!(
                        "{why}remove it once the stage's last logs are in: `aws logs \
                         delete-log-group --log-group-name {}`",
                        g.name
                    ),
                );
            }
        }
    }

    match &facts.versions {
        Err(e) => r
            .unchecked
            .push(format!("versions of function {} ({e})", facts.function)),
        Ok(versions) => {
            for v in versions {
                r.leftovers.push(Finding {
                    kind: "Lambda version".into(),
                    name: format!("{}:{v}", facts.function),
                    source: "lambda versions",
                    note: format!(
                        "the function still exists; remove it with every version: `aws \
                         lambda delete-function --function-name {}`",
                        facts.function
                    ),
                });
            }
        }
    }

    for n in &facts.names {
        match &n.found {
            Err(e) => r.unchecked.push(format!("{} {} ({e})", n.kind, n.name)),
            // Absent is the clean answer; a name another account holds is not the env's.
            Ok(Found::Absent | Found::Elsewhere(_)) => {}
            Ok(Found::InStack | Found::Outside) => {
                let fix = fix_for(n.kind, &n.name, "");
                retained(&mut r, n.kind, &n.name, "names", fix);
            }
        }
    }

    dedupe(&mut r.leftovers);
    dedupe(&mut r.kept);
    dedupe(&mut r.stale);
    // A resource found by name is not also "gone".
    let found: Vec<String> = r
        .leftovers
        .iter()
        .chain(&r.kept)
        .map(|f| f.name.clone())
        .collect();
    r.stale.retain(|f| !found.contains(&f.name));
    r.clean = r.leftovers.is_empty() && r.unchecked.is_empty();
    r
}

/// One row per name, the first source that found it.
fn dedupe(rows: &mut Vec<Finding>) {
    let mut seen = std::collections::BTreeSet::new();
    rows.retain(|f| seen.insert(f.name.clone()));
}

/// A resource's kind and name from its ARN (`arn:partition:service:region:account:rest`),
/// for the service types irisctl's stacks create; anything else keeps its ARN as name.
pub fn describe_arn(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (service, rest) = match parts.as_slice() {
        [_, _, service, _, _, rest] => (*service, *rest),
        _ => return ("tagged resource".into(), arn.into()),
    };
    let (kind, name) = match service {
        "s3" => ("S3 bucket", rest),
        "logs" => (
            "log group",
            rest.strip_prefix("log-group:")
                .map_or(rest, |n| n.strip_suffix(":*").unwrap_or(n)),
        ),
        "sqs" => ("SQS queue", rest),
        "lambda" => (
            "Lambda function",
            rest.strip_prefix("function:").unwrap_or(rest),
        ),
        "kms" => ("KMS key", rest.strip_prefix("key/").unwrap_or(rest)),
        "ecr" => (
            "ECR repository",
            rest.strip_prefix("repository/").unwrap_or(rest),
        ),
        "sns" => ("SNS topic", rest),
        "cognito-idp" => (
            "Cognito user pool",
            rest.strip_prefix("userpool/").unwrap_or(rest),
        ),
        _ => return (format!("{service} resource"), arn.into()),
    };
    (kind.into(), name.into())
}

/// The command that removes a found resource.
fn fix_for(kind: &str, name: &str, arn: &str) -> String {
    match kind {
        "S3 bucket" => format!(
            "empty every version and delete marker, then `aws s3api delete-bucket --bucket {name}`"
        ),
        "log group" => format!("remove it: `aws logs delete-log-group --log-group-name {name}`"),
        "SQS queue" => format!(
            "remove it: `aws sqs delete-queue --queue-url \"$(aws sqs get-queue-url --queue-name \
             {name} --query QueueUrl --output text)\"`"
        ),
        "Lambda function" => {
            format!("remove it: `aws lambda delete-function --function-name {name}`")
        }
        "KMS key" => format!(
            "schedule its deletion: `aws kms schedule-key-deletion --key-id {name} \
             --pending-window-in-days 7`"
        ),
        "ECR repository" => format!(
            "remove it with its images: `aws ecr delete-repository --repository-name {name} --force`"
        ),
        "KMS alias" => format!("remove it: `aws kms delete-alias --alias-name {name}`"),
        "Cognito domain" => format!(
            "remove it: `aws cognito-idp delete-user-pool-domain --domain {name} --user-pool-id \
             \"$(aws cognito-idp describe-user-pool-domain --domain {name} --query \
             DomainDescription.UserPoolId --output text)\"`"
        ),
        "SNS topic" => format!("remove it: `aws sns delete-topic --topic-arn {arn}`"),
        _ if !arn.is_empty() => format!(
            "look at it with `aws resourcegroupstaggingapi get-resources --resource-arn-list \
             {arn}` and delete it with its service"
        ),
        _ => "delete it with its service".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn clean_facts() -> Facts {
        Facts {
            env: "pr-7".into(),
            retain: false,
            stacks: vec![
                "iris-pr-7-storage".into(),
                "iris-pr-7-auth".into(),
                "iris-pr-7-service".into(),
            ],
            live_stacks: Vec::new(),
            tagged: Ok(Vec::new()),
            log_groups: vec![
                ("/aws/lambda/iris-pr-7-predict".into(), Ok(Vec::new())),
                ("/aws/apigateway/iris-pr-7-".into(), Ok(Vec::new())),
            ],
            function: "iris-pr-7-predict".into(),
            versions: Ok(Vec::new()),
            names: vec![NameFact {
                kind: "S3 bucket",
                name: "iris-pr-7-models-123456789012-us-east-1".into(),
                stack: "iris-pr-7-storage".into(),
                found: Ok(Found::Absent),
            }],
            execution_log_group: Some(ExecutionLogGroup {
                name: "API-Gateway-Execution-Logs_abc123/v1".into(),
                swept: false,
                back: Ok(false),
            }),
        }
    }

    fn hit(arn: &str, stack: Option<&str>, exists: Option<Result<bool, String>>) -> TaggedHit {
        let mut tags = BTreeMap::from([("irisctl:env".to_owned(), "pr-7".to_owned())]);
        if let Some(s) = stack {
            tags.insert(STACK_NAME_TAG.to_owned(), s.to_owned());
        }
        TaggedHit {
            resource: Tagged {
                arn: arn.into(),
                tags,
            },
            exists,
        }
    }

    #[test]
    fn nothing_found_is_clean() {
        let r = receipt(&clean_facts());
        assert!(r.clean, "{r:?}");
        assert!(r.problem().is_none());
        assert!(r.to_text().contains("clean"), "{}", r.to_text());
    }

    #[test]
    fn a_tagged_queue_made_outside_the_stacks_is_a_leftover_with_its_command() {
        let mut f = clean_facts();
        f.tagged = Ok(vec![hit(
            "arn:aws:sqs:us-east-1:123456789012:stray-queue",
            None,
            Some(Ok(true)),
        )]);
        let r = receipt(&f);
        assert!(!r.clean);
        assert_eq!(r.leftovers.len(), 1, "{r:?}");
        assert_eq!(r.leftovers[0].kind, "SQS queue");
        assert_eq!(r.leftovers[0].name, "stray-queue");
        assert!(r.leftovers[0].note.contains("aws sqs delete-queue"));
        let problem = r.problem().expect("not clean");
        assert!(problem.contains("SQS queue stray-queue"), "{problem}");
    }

    #[test]
    fn a_tagging_hit_its_service_says_is_gone_is_stale_not_a_leftover() {
        let mut f = clean_facts();
        f.tagged = Ok(vec![
            hit(
                "arn:aws:s3:::iris-pr-7-models-123456789012-us-east-1",
                Some("iris-pr-7-storage"),
                Some(Ok(false)),
            ),
            hit(
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
                Some("iris-pr-7-storage"),
                Some(Ok(false)),
            ),
        ]);
        let r = receipt(&f);
        assert!(r.clean, "{r:?}");
        assert_eq!(r.stale.len(), 2);
    }

    #[test]
    fn an_unconfirmable_hit_from_a_deleted_env_stack_is_stale_but_from_nowhere_a_leftover() {
        let mut f = clean_facts();
        f.tagged = Ok(vec![hit(
            "arn:aws:sns:us-east-1:123456789012:iris-pr-7-alarms",
            Some("iris-pr-7-service"),
            None,
        )]);
        assert!(receipt(&f).clean);
        f.tagged = Ok(vec![hit(
            "arn:aws:sns:us-east-1:123456789012:someone-made-this",
            None,
            None,
        )]);
        let r = receipt(&f);
        assert!(!r.clean);
        assert!(
            r.leftovers[0].note.contains("made outside its stacks"),
            "{r:?}"
        );
        // A hit from a stack that still exists is not vouched for by its deletion either.
        f.live_stacks = vec!["iris-pr-7-service".into()];
        f.tagged = Ok(vec![hit(
            "arn:aws:sns:us-east-1:123456789012:iris-pr-7-alarms",
            Some("iris-pr-7-service"),
            None,
        )]);
        let r = receipt(&f);
        assert_eq!(r.leftovers.len(), 2, "{r:?}");
    }

    #[test]
    fn log_groups_versions_and_names_found_are_leftovers_once_each() {
        let mut f = clean_facts();
        f.log_groups[0].1 = Ok(vec!["/aws/lambda/iris-pr-7-predict".into()]);
        f.tagged = Ok(vec![hit(
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/iris-pr-7-predict:*",
            None,
            Some(Ok(true)),
        )]);
        f.versions = Ok(vec!["$LATEST".into(), "3".into()]);
        f.names[0].found = Ok(Found::Outside);
        let r = receipt(&f);
        let names: Vec<&str> = r.leftovers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "/aws/lambda/iris-pr-7-predict",
                "iris-pr-7-predict:$LATEST",
                "iris-pr-7-predict:3",
                "iris-pr-7-models-123456789012-us-east-1",
            ],
            "{r:?}"
        );
        assert!(r.leftovers[1].note.contains("aws lambda delete-function"));
    }

    #[test]
    fn a_recreated_execution_log_group_is_named_with_its_command() {
        let mut f = clean_facts();
        f.execution_log_group = Some(ExecutionLogGroup {
            name: "API-Gateway-Execution-Logs_abc123/v1".into(),
            swept: true,
            back: Ok(true),
        });
        let r = receipt(&f);
        assert!(!r.clean);
        assert!(r.recreated_execution_logs);
        assert_eq!(r.leftovers.len(), 1, "{r:?}");
        assert!(r.leftovers[0].note.contains("re-created"), "{r:?}");
        assert!(r.leftovers[0].note.contains(
            "aws logs delete-log-group --log-group-name API-Gateway-Execution-Logs_abc123/v1"
        ));
        // Swept and not back: clean.
        f.execution_log_group = Some(ExecutionLogGroup {
            name: "API-Gateway-Execution-Logs_abc123/v1".into(),
            swept: true,
            back: Ok(false),
        });
        assert!(receipt(&f).clean);
    }

    #[test]
    fn a_failed_read_leaves_the_receipt_unclean() {
        let mut f = clean_facts();
        f.tagged = Err("AccessDeniedException: not authorized to tag:GetResources".into());
        let r = receipt(&f);
        assert!(!r.clean);
        assert_eq!(r.unchecked.len(), 1);
        assert!(r.problem().expect("unclean").contains("not checked"));
    }

    #[test]
    fn a_protected_env_s_retained_resources_are_kept_not_leftovers() {
        let mut f = clean_facts();
        f.retain = true;
        f.names[0].found = Ok(Found::Outside);
        f.tagged = Ok(vec![hit(
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC",
            Some("iris-pr-7-auth"),
            None,
        )]);
        let r = receipt(&f);
        assert!(r.clean, "{r:?}");
        assert_eq!(r.kept.len(), 2, "{r:?}");
    }

    #[test]
    fn a_stack_still_there_is_a_leftover() {
        let mut f = clean_facts();
        f.live_stacks = vec!["iris-pr-7-storage".into()];
        let r = receipt(&f);
        assert!(!r.clean);
        assert_eq!(r.leftovers[0].kind, "CloudFormation stack");
    }

    #[test]
    fn arns_read_as_kind_and_name() {
        for (arn, kind, name) in [
            ("arn:aws:s3:::b", "S3 bucket", "b"),
            (
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*",
                "log group",
                "/aws/lambda/f",
            ),
            (
                "arn:aws:lambda:us-east-1:1:function:f",
                "Lambda function",
                "f",
            ),
            ("arn:aws:kms:us-east-1:1:key/k", "KMS key", "k"),
            ("arn:aws:sqs:us-east-1:1:q", "SQS queue", "q"),
            (
                "arn:aws:events:us-east-1:1:rule/r",
                "events resource",
                "arn:aws:events:us-east-1:1:rule/r",
            ),
            ("not an arn", "tagged resource", "not an arn"),
        ] {
            assert_eq!(
                describe_arn(arn),
                (kind.to_owned(), name.to_owned()),
                "{arn}"
            );
        }
    }
}

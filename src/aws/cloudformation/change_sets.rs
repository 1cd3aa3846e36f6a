//! The calls on change sets: create one, describe it (every page of changes, as
//! [`ResourceChange`]s), execute it, delete it.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetType, Replacement, ResourceAttribute,
};

use super::{Cfn, CfnError, ParamValue, is_no_changes_reason, sdk_parameters, sdk_tags};

/// What a change set would do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (Modify only).
    pub replacement: Option<String>,
    /// The properties (or attributes) whose change causes this, e.g. `Properties.MemorySize`.
    pub causes: Vec<String>,
}

/// A described change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub id: String,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `FAILED`, ...
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

impl ChangeSet {
    /// Still being computed by CloudFormation.
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        )
    }

    /// FAILED because it contains nothing to do (success for irisctl).
    pub fn is_empty_failure(&self) -> bool {
        self.status == "FAILED"
            && self
                .status_reason
                .as_deref()
                .is_some_and(is_no_changes_reason)
    }
}

impl Cfn {
    /// CreateChangeSet (UPDATE) named `change_set`. Returns its id.
    pub async fn create_change_set(
        &self,
        stack: &str,
        change_set: &str,
        body: &str,
        parameters: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CfnError> {
        let output = self
            .client
            .create_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .change_set_type(ChangeSetType::Update)
            .template_body(body)
            .set_parameters(Some(sdk_parameters(parameters)))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("CreateChangeSet", stack, e))?;
        Ok(output.id().unwrap_or(change_set).to_owned())
    }

    /// DescribeChangeSet, every page of changes.
    pub async fn describe_change_set(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<ChangeSet, CfnError> {
        let mut token: Option<String> = None;
        let mut result: Option<ChangeSet> = None;
        loop {
            let output = self
                .client
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CfnError::from_sdk("DescribeChangeSet", stack, e))?;
            let set = result.get_or_insert_with(|| ChangeSet {
                id: output.change_set_id().unwrap_or(change_set).to_owned(),
                status: output
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: output.status_reason().map(str::to_owned),
                changes: Vec::new(),
            });
            for change in output.changes() {
                let Some(rc) = change.resource_change() else {
                    continue;
                };
                let causes = rc
                    .details()
                    .iter()
                    .filter_map(|d| d.target())
                    .filter_map(|t| {
                        let name = t.name().map(str::to_owned).or_else(|| {
                            t.path()
                                .map(|p| p.trim_start_matches('/').replace('/', "."))
                        })?;
                        Some(match t.attribute() {
                            Some(ResourceAttribute::Properties) | None => name,
                            Some(other) => format!("{}.{name}", other.as_str()),
                        })
                    })
                    .collect::<Vec<_>>();
                let mut causes = causes;
                if causes.is_empty() {
                    // Without Details (LocalStack), the scope still says what kind changed.
                    causes = rc.scope().iter().map(|s| s.as_str().to_owned()).collect();
                }
                causes.sort();
                causes.dedup();
                set.changes.push(ResourceChange {
                    action: rc
                        .action()
                        .map(ChangeAction::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| Replacement::as_str(r).to_owned()),
                    causes,
                });
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(result.unwrap_or_else(|| ChangeSet {
            id: change_set.to_owned(),
            status: String::new(),
            status_reason: None,
            changes: Vec::new(),
        }))
    }

    pub async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), CfnError> {
        self.client
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("ExecuteChangeSet", stack, e))?;
        Ok(())
    }

    pub async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), CfnError> {
        self.client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DeleteChangeSet", stack, e))?;
        Ok(())
    }
}

//! Validate rendered templates: structure (every `Ref`, `GetAtt`, `Sub` variable,
//! `DependsOn` and condition resolves; every parameter and condition is used) and our own
//! policy rules, the ones no public rule set has (see policy.rs). Pure: takes rendered
//! stacks, returns findings. Must not render or print.

mod policy;
mod structure;

use crate::config::Config;
use crate::render::{self, RenderError, RenderedStack, cfn};

/// One problem in one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub stack: String,
    /// Where in the template, e.g. `Resources.Stage.Properties.MethodSettings`.
    pub path: String,
    /// Short stable rule id, e.g. `stage-throttling`.
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: [{}] {}",
            self.stack, self.path, self.rule, self.message
        )
    }
}

/// What the policy rules may allow for this env.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowances {
    /// Methods without an authorizer: only for emulator envs, whose deployed methods have
    /// none (`auth.mode: none`, or the authorizer LocalStack cannot deploy; see
    /// `render::Variant`).
    pub open_methods: bool,
}

impl Allowances {
    pub fn for_config(config: &Config) -> Allowances {
        Allowances {
            open_methods: config.emulator.value,
        }
    }
}

/// Check one rendered stack.
pub fn validate_stack(stack: &RenderedStack, allow: Allowances) -> Vec<Finding> {
    let doc = match cfn::parse(&stack.body) {
        Ok(doc) => doc,
        Err(err) => {
            return vec![Finding {
                stack: stack.name.clone(),
                path: "(document)".into(),
                rule: "yaml",
                message: err.to_string(),
            }];
        }
    };
    let mut findings = Vec::new();
    let mut report = |path: String, rule: &'static str, message: String| {
        findings.push(Finding {
            stack: stack.name.clone(),
            path,
            rule,
            message,
        });
    };
    structure::check(&doc, &mut report);
    policy::check(&doc, allow, &mut report);
    findings
}

/// Render and check every stack of an env.
pub fn validate_env(config: &Config) -> Result<Vec<Finding>, RenderError> {
    let allow = Allowances::for_config(config);
    let stacks = render::render_env(config)?;
    Ok(stacks
        .iter()
        .flat_map(|s| validate_stack(s, allow))
        .collect())
}

#[cfg(test)]
mod tests;

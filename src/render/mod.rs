//! Render: a validated [`Config`] → one CloudFormation YAML document per stack, in stack
//! order, byte-for-byte deterministic. The templates (templates/*.yaml.j2) are compiled
//! into the binary so a rendered env never depends on the working directory. Must not
//! judge the result (validate/ does) or talk to AWS.

pub mod cfn;
mod context;

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

pub use context::predict_scope;

use crate::config::Config;
use crate::naming::StackKind;

/// The template sources, by stack kind.
pub const TEMPLATES: [(StackKind, &str, &str); 3] = [
    (
        StackKind::Storage,
        "storage.yaml.j2",
        include_str!("../../templates/storage.yaml.j2"),
    ),
    (
        StackKind::Auth,
        "auth.yaml.j2",
        include_str!("../../templates/auth.yaml.j2"),
    ),
    (
        StackKind::Service,
        "service.yaml.j2",
        include_str!("../../templates/service.yaml.j2"),
    ),
];

/// Stands for the hash of the API definition until the definition is rendered.
const API_HASH_PLACEHOLDER: &str = "__API_DEFINITION_HASH__";
const API_BEGIN: &str = "# api-definition:begin";
const API_END: &str = "# api-definition:end";

/// One stack's template, ready for CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStack {
    /// The CloudFormation stack name (`<project>-<env>-<kind>`, shortened if needed).
    pub name: String,
    pub kind: StackKind,
    /// The template body (YAML).
    pub body: String,
    /// Parameter names the template declares, sorted. irisctl passes earlier stacks'
    /// outputs with the same names, and only those this template declares.
    pub parameters_declared: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template}: {source}")]
    Template {
        template: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("template {template} rendered invalid CloudFormation: {source}")]
    Parse {
        template: &'static str,
        #[source]
        source: cfn::CfnParseError,
    },
    #[error(
        "template {template}: the `{API_BEGIN}` / `{API_END}` markers are missing or out of order"
    )]
    ApiMarkers { template: &'static str },
}

impl RenderedStack {
    /// sha256 (hex) of the body: compare with a deployed template's to tell drift in the
    /// template itself from a stack that is simply up to date.
    pub fn sha256(&self) -> String {
        crate::digest::sha256_hex(&self.body)
    }
}

/// Render every stack of the env, in stack order (storage, auth, service).
pub fn render_env(config: &Config) -> Result<Vec<RenderedStack>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(true);
    let ctx = context::build(config);
    let mut stacks = Vec::with_capacity(TEMPLATES.len());
    for (kind, template, source) in TEMPLATES {
        let rendered = env
            .render_str(source, &ctx)
            .map_err(|source| RenderError::Template { template, source })?;
        let body = if kind == StackKind::Service {
            stamp_api_hash(&rendered).ok_or(RenderError::ApiMarkers { template })?
        } else {
            rendered
        };
        let doc = cfn::parse(&body).map_err(|source| RenderError::Parse { template, source })?;
        let mut parameters_declared: Vec<String> = doc
            .get("Parameters")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        parameters_declared.sort();
        stacks.push(RenderedStack {
            name: config.names.stack(kind).to_string(),
            kind,
            body,
            parameters_declared,
        });
    }
    Ok(stacks)
}

/// Replace the placeholder with a hash of the API definition section, so the Deployment
/// gets a new logical id (and CloudFormation a new deployment) exactly when the API changes.
fn stamp_api_hash(rendered: &str) -> Option<String> {
    let begin = rendered.find(API_BEGIN)?;
    let end = rendered.find(API_END)?;
    if end < begin {
        return None;
    }
    let section = &rendered[begin..end];
    let hash = crate::digest::sha256_hex(section);
    Some(rendered.replace(API_HASH_PLACEHOLDER, &hash[..12]))
}

/// The file a stack is written to inside `dir`.
pub fn file_for(dir: &Path, stack: &RenderedStack) -> PathBuf {
    dir.join(format!("{}.yaml", stack.name))
}

/// Write each stack to `dir/<stack name>.yaml`, creating `dir`. Returns the paths.
pub fn write_all(dir: &Path, stacks: &[RenderedStack]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    stacks
        .iter()
        .map(|stack| {
            let path = file_for(dir, stack);
            std::fs::write(&path, &stack.body)?;
            Ok(path)
        })
        .collect()
}

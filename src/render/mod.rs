//! Render: a validated [`Config`] → one CloudFormation YAML document per stack, in stack
//! order, byte-for-byte deterministic. The templates (templates/*.yaml.j2, and the service
//! template's partials in templates/service/) are compiled into the binary so a rendered
//! env never depends on the working directory. Must not judge the result (validate/ does)
//! or talk to AWS.

pub mod account;
pub mod api_definition;
pub mod cfn;
pub mod context;
pub mod custom_names;
pub mod pipeline;

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

pub use context::{Variant, predict_scope};

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

/// The service template's partials, one per concern, by the name its `{% include %}`s
/// use. The API definition is one of them ([`api_definition::API_PARTIAL`]).
pub const SERVICE_PARTIALS: [(&str, &str); 5] = [
    (
        "service/function.yaml.j2",
        include_str!("../../templates/service/function.yaml.j2"),
    ),
    (
        api_definition::API_PARTIAL,
        include_str!("../../templates/service/api.yaml.j2"),
    ),
    (
        "service/stage.yaml.j2",
        include_str!("../../templates/service/stage.yaml.j2"),
    ),
    (
        "service/alarms.yaml.j2",
        include_str!("../../templates/service/alarms.yaml.j2"),
    ),
    (
        "service/endpoint.yaml.j2",
        include_str!("../../templates/service/endpoint.yaml.j2"),
    ),
];

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
        "template {template} does not contain the API definition as rendered on its own \
         (the Deployment's hash would not match what is deployed); include `{}` exactly once, \
         unindented, and keep it free of `{}`",
        api_definition::API_PARTIAL,
        api_definition::HASH_KEY
    )]
    ApiDefinitionNotIncluded { template: &'static str },
}

impl RenderedStack {
    /// sha256 (hex) of the body: compare with a deployed template's to tell drift in the
    /// template itself from a stack that is simply up to date.
    pub fn sha256(&self) -> String {
        crate::digest::sha256_hex(&self.body)
    }
}

/// Render every stack of the env as deploy creates it, in stack order (storage, auth,
/// service).
pub fn render_env(config: &Config) -> Result<Vec<RenderedStack>, RenderError> {
    render_variant(config, Variant::Deployed)
}

/// Render every stack of the env as `variant` has it ([`Variant`]: the same as
/// [`render_env`] except for an emulator env's authorizer).
pub fn render_variant(
    config: &Config,
    variant: Variant,
) -> Result<Vec<RenderedStack>, RenderError> {
    let templates = environment()?;
    let ctx = context::build(config, variant);
    let api = api_definition::render(&templates, &ctx)?;
    let service_ctx = api_definition::with_hash(&ctx, &api);
    let mut stacks = Vec::with_capacity(TEMPLATES.len());
    for (kind, template, _) in TEMPLATES {
        let ctx = if kind == StackKind::Service {
            &service_ctx
        } else {
            &ctx
        };
        let body = templates
            .get_template(template)
            .and_then(|t| t.render(ctx))
            .map_err(|source| RenderError::Template { template, source })?;
        if kind == StackKind::Service && !api.is_included_once_in(&body) {
            return Err(RenderError::ApiDefinitionNotIncluded { template });
        }
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

/// Every template and partial, by name, with the settings all of them are written for:
/// strict undefined values (a typo in a template is an error, not an empty string), no
/// escaping (YAML, not HTML), block tags that leave no blank lines behind.
fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(true);
    let all = TEMPLATES
        .iter()
        .map(|(_, name, source)| (*name, *source))
        .chain(SERVICE_PARTIALS)
        .chain([account::ACCOUNT_TEMPLATE, pipeline::PIPELINE_TEMPLATE]);
    for (template, source) in all {
        env.add_template(template, source)
            .map_err(|source| RenderError::Template { template, source })?;
    }
    Ok(env)
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

//! An env's API contract as API Gateway enforces it, read from the env's rendered service
//! stack (templates/service/api.yaml.j2 and stage.yaml.j2), so `irisctl local serve --env
//! ENV` and a deployed stage answer from one source: which methods exist and how they are
//! authorized ([`definition`]), the COGNITO_USER_POOLS authorizer's token check
//! ([`authorizer`]), the request model ([`schema`]), the stage's throttle ([`throttle`])
//! and the gateway responses ([`responses`]). Pure functions over data (time passed in);
//! must not serve HTTP or call AWS.

pub mod authorizer;
pub mod definition;
pub mod openapi;
pub mod responses;
pub mod schema;
pub mod throttle;

pub use definition::{ApiContract, Authorization, ContractError, MethodSpec};

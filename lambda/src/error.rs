//! The client-facing error: an HTTP status plus `{"error":{"code","message","field"}}`.
//! Owns the stable error codes and the wording a caller sees. Must never carry internal
//! details (S3 errors, keys, stack traces): those go to the log, not to the client.

use serde_json::{Value, json};

/// A request the function will not serve, as the client should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Stable, machine-readable code (documented in lambda/README.md).
    pub code: &'static str,
    /// One sentence for a person: what is wrong and what to send instead.
    pub message: String,
    /// The JSON field at fault (`petal_width`, `instances[3].petal_width`), if any.
    pub field: Option<String>,
    /// Methods the path accepts, for the `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code,
            message: message.into(),
            field: None,
            allow: None,
        }
    }

    pub fn field(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::bad_request(code, message)
        }
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 413,
            ..ApiError::bad_request(code, message)
        }
    }

    pub fn not_found(path: &str) -> ApiError {
        ApiError {
            status: 404,
            ..ApiError::bad_request(
                "not_found",
                format!(
                    "no route for path {}; the routes are POST /predict and GET /model",
                    clip(path)
                ),
            )
        }
    }

    pub fn method_not_allowed(method: &str, path: &'static str, allow: &'static str) -> ApiError {
        ApiError {
            status: 405,
            allow: Some(allow),
            ..ApiError::bad_request(
                "method_not_allowed",
                format!("{path} does not accept {}; use {allow}", clip(method)),
            )
        }
    }

    /// The only 5xx a client ever sees: generic on purpose, with the request id so an
    /// operator can find the logged cause.
    pub fn internal(request_id: &str) -> ApiError {
        ApiError {
            status: 500,
            ..ApiError::bad_request(
                "internal_error",
                format!(
                    "the service could not answer this request; it has been logged (request id {})",
                    clip(request_id)
                ),
            )
        }
    }

    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            error["field"] = json!(field);
        }
        json!({ "error": error })
    }
}

/// Client-supplied text echoed in a message is cut short: an error must not become a way
/// to reflect large payloads.
pub fn clip(text: &str) -> String {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_code_message_and_field() {
        let err = ApiError::field("invalid_value", "petal_width", "petal_width must be > 0");
        assert_eq!(err.status, 400);
        assert_eq!(
            err.body(),
            json!({"error":{"code":"invalid_value","message":"petal_width must be > 0","field":"petal_width"}})
        );
    }

    #[test]
    fn clip_bounds_echoed_text() {
        let long = "x".repeat(10_000);
        assert!(clip(&long).chars().count() <= 65);
        assert_eq!(clip("/predict"), "/predict");
        assert_eq!(clip(&"é".repeat(100)).chars().count(), 65);
    }

    #[test]
    fn internal_error_is_generic() {
        let err = ApiError::internal("abc-123");
        assert_eq!(err.status, 500);
        assert!(err.message.contains("abc-123"));
        assert!(!err.message.to_lowercase().contains("s3"));
    }
}

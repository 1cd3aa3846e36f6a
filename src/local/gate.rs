//! What API Gateway does to a request before the function sees it, for `local serve --env
//! ENV`: the stage throttle, the method lookup, the authorizer and the request validator
//! of ENV's contract (`gateway`), in that order, each refusal answered with the contract's
//! gateway response. Owns the mutable state of one run (the token bucket); the rules are
//! `gateway`'s. Must not invoke the function.

use std::sync::Mutex;
use std::time::Instant;

use axum::http::{HeaderMap, Method, header};
use serde_json::Value;

use crate::gateway::authorizer::Verifier;
use crate::gateway::responses::{self, Answer};
use crate::gateway::throttle::TokenBucket;
use crate::gateway::{ApiContract, Authorization};

pub struct Gate {
    pub contract: ApiContract,
    /// Who signs the tokens the authorizer accepts (local issuer or a user pool).
    pub verifier: Option<Verifier>,
    bucket: Option<Mutex<TokenBucket>>,
    started: Instant,
}

/// A refusal: the gateway response type, why (for the log) and the answer.
#[derive(Debug)]
pub struct Refused {
    pub response_type: &'static str,
    pub why: String,
    pub answer: Answer,
}

impl Gate {
    pub fn new(contract: ApiContract, verifier: Option<Verifier>) -> Gate {
        let bucket = contract
            .throttle
            .map(|t| Mutex::new(TokenBucket::new(t.rate, t.burst)));
        Gate {
            contract,
            verifier,
            bucket,
            started: Instant::now(),
        }
    }

    /// The contract's answer for a response type API Gateway gives itself.
    pub fn answer(
        &self,
        response_type: &'static str,
        why: impl Into<String>,
        request_id: &str,
    ) -> Refused {
        Refused {
            response_type,
            why: why.into(),
            answer: responses::answer(&self.contract.responses, response_type, request_id),
        }
    }

    /// Let the request through to the function, or say how API Gateway refuses it.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        request_id: &str,
        now_unix: u64,
    ) -> Result<(), Refused> {
        if let Some(bucket) = &self.bucket {
            let now = self.started.elapsed().as_secs_f64();
            let passed = bucket.lock().map(|mut b| b.try_take(now)).unwrap_or(false);
            if !passed {
                return Err(self.answer(
                    "THROTTLED",
                    "stage throttle: no token in the bucket",
                    request_id,
                ));
            }
        }
        let Some(spec) = self.contract.method(method.as_str(), path) else {
            // API Gateway's answer for a path or verb the API does not define.
            return Err(self.answer(
                "MISSING_AUTHENTICATION_TOKEN",
                format!("no method {method} {path}"),
                request_id,
            ));
        };
        if let Authorization::CognitoUserPools {
            header: name,
            scopes,
        } = &spec.authorization
        {
            let Some(value) = headers.get(name.as_str()).and_then(|v| v.to_str().ok()) else {
                return Err(self.answer("UNAUTHORIZED", format!("no {name} header"), request_id));
            };
            let Some(verifier) = &self.verifier else {
                return Err(self.answer("UNAUTHORIZED", "no token issuer configured", request_id));
            };
            if let Err(why) = verifier.verify(value, scopes, now_unix) {
                return Err(self.answer(
                    "UNAUTHORIZED",
                    format!("token refused: {why}"),
                    request_id,
                ));
            }
        }
        if !spec.body_models.is_empty() {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_default();
            let model = spec
                .body_models
                .get(&content_type)
                .or_else(|| spec.body_models.get("$default"));
            if let Some(schema) = model {
                let valid = serde_json::from_slice::<Value>(body)
                    .is_ok_and(|instance| crate::gateway::schema::is_valid(schema, &instance));
                if !valid {
                    return Err(self.answer(
                        "BAD_REQUEST_BODY",
                        "the body fails the request model",
                        request_id,
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::definition::tests::contract_of;
    use crate::local::issuer::LocalIssuer;

    fn gate() -> (Gate, LocalIssuer) {
        let mut contract = contract_of("dev");
        contract.throttle = None;
        let issuer = LocalIssuer::new(
            "http://127.0.0.1:9".into(),
            vec!["iris-dev-api/predict".into(), "iris-dev-api/unused".into()],
            60,
        )
        .expect("issuer");
        (Gate::new(contract, Some(issuer.verifier())), issuer)
    }

    fn headers(token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("value"),
        );
        if let Some(t) = token {
            h.insert(header::AUTHORIZATION, t.parse().expect("value"));
        }
        h
    }

    const FLOWER: &[u8] =
        br#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

    #[test]
    fn each_refusal_is_the_contracts_answer() {
        let (g, issuer) = gate();
        let now = super::super::issuer::unix_now();
        let good = issuer
            .mint(&["iris-dev-api/predict".into()], 60, now)
            .expect("token");
        let other = issuer
            .mint(&["iris-dev-api/unused".into()], 60, now)
            .expect("token");
        assert!(
            g.check(
                &Method::POST,
                "/predict",
                &headers(Some(good.as_str())),
                FLOWER,
                "r",
                now
            )
            .is_ok()
        );
        // (case, method, path, token, body, expected status)
        type Case<'a> = (&'a str, Method, &'a str, Option<&'a str>, &'a [u8], u16);
        let cases: [Case; 6] = [
            ("no token", Method::POST, "/predict", None, FLOWER, 401),
            (
                "no scope",
                Method::POST,
                "/predict",
                Some(other.as_str()),
                FLOWER,
                401,
            ),
            (
                "garbage token",
                Method::GET,
                "/model",
                Some("abc"),
                b"",
                401,
            ),
            (
                "no such method",
                Method::GET,
                "/predict",
                Some(good.as_str()),
                b"",
                403,
            ),
            (
                "malformed body",
                Method::POST,
                "/predict",
                Some(good.as_str()),
                b"{",
                400,
            ),
            (
                "string value",
                Method::POST,
                "/predict",
                Some(good.as_str()),
                br#"{"sepal_length":"5","sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
                400,
            ),
        ];
        for (what, method, path, token, body, status) in cases {
            let refused = g
                .check(&method, path, &headers(token), body, "req-9", now)
                .expect_err(what);
            assert_eq!(refused.answer.status, status, "{what}");
            let json: Value = serde_json::from_str(&refused.answer.body).expect("JSON");
            assert_eq!(json["error"]["code"], refused.response_type, "{what}");
            assert_eq!(json["requestId"], "req-9", "{what}");
        }
    }

    #[test]
    fn the_bucket_refuses_past_the_burst() {
        let mut contract = contract_of("local");
        contract.throttle = Some(crate::gateway::definition::Throttle {
            rate: 0.001,
            burst: 2,
        });
        let g = Gate::new(contract, None);
        let now = 0;
        let statuses: Vec<u16> = (0..4)
            .map(
                |_| match g.check(&Method::GET, "/model", &HeaderMap::new(), b"", "r", now) {
                    Ok(()) => 200,
                    Err(r) => r.answer.status,
                },
            )
            .collect();
        assert_eq!(statuses, [200, 200, 429, 429]);
    }
}

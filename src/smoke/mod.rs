//! `irisctl smoke`: the stage gate. Given where an env's API answers, how to get tokens
//! for it, the model `status` says is live and a golden set, it runs every check over
//! HTTP and returns a report; it decides nothing about exit codes or printing (that is
//! `cmd::smoke`) and finds nothing out about the env itself.
//!
//! The refusals expected are API Gateway's: no token, a tampered or expired token and a
//! valid token without the method's scope all get 401 from a COGNITO_USER_POOLS
//! authorizer (API Gateway's "Integrate a REST API with an Amazon Cognito user pool":
//! when no method scope matches a scope claimed in the token, the answer is 401
//! Unauthorized); a body the request model refuses gets 400; both in the API's JSON error
//! shape (`{"error": {"code", "message"}}`).

pub mod report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use iris_model::golden::GoldenRow;

use crate::http::{Http, Reply};
pub use report::{Check, Latency, Outcome, Report};

/// Where the API is and what the gate needs to know to check it.
pub struct Target {
    /// Base URL (the stage's URL), without a trailing slash.
    pub base_url: String,
    pub auth: Auth,
    /// The model sha256 `irisctl status` says is live.
    pub live_sha256: Result<String, String>,
    pub golden: Result<Golden, String>,
    pub max_batch: u32,
    pub requests: usize,
    pub max_p99_ms: Option<f64>,
    /// Whether the API applies the template's gateway response bodies (LocalStack does
    /// not: its refusals keep API Gateway's default `{"message": ...}`).
    pub gateway_templates: bool,
    /// Least time between the latency run's requests: the stage's throttle rate, so the
    /// gate measures latency instead of tripping the throttle.
    pub pace: Option<Duration>,
}

/// Tokens for the checks, or why the auth checks do not apply.
pub enum Auth {
    NotApplicable(String),
    Tokens {
        /// A token with the methods' scope.
        good: String,
        /// A valid token without that scope, or why none can be had.
        unscoped: Result<String, String>,
        /// A valid token that expires at `.1` (unix seconds), or why none can be had.
        expiring: Result<(String, u64), String>,
    },
}

/// The model's golden set: the rows its artifact records with the species and
/// probabilities the model must give them.
pub struct Golden {
    /// Which model the rows are of, for the report.
    pub source: String,
    pub rows: Vec<GoldenRow>,
}

const FLOWER: [f64; 4] = [5.1, 3.5, 1.4, 0.2];

fn flower_json(r: &[f64; 4]) -> Value {
    json!({"sepal_length": r[0], "sepal_width": r[1], "petal_length": r[2], "petal_width": r[3]})
}

struct Caller<'a> {
    http: &'a Http,
    base: &'a str,
    token: Option<&'a str>,
}

impl Caller<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let url = format!("{}{path}", self.base);
        let mut headers = Vec::new();
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        if let Some(t) = token {
            headers.push(("authorization", t));
        }
        self.http
            .send(method, &url, &headers, body.unwrap_or_default())
            .await
            .map_err(|e| format!("{e:#}"))
    }

    async fn predict(&self, body: Vec<u8>) -> Result<Reply, String> {
        self.call(Method::POST, "/predict", self.token, Some(body))
            .await
    }
}

/// Run every check against `target`.
pub async fn run(http: &Http, target: &Target) -> Report {
    let good = match &target.auth {
        Auth::Tokens { good, .. } => Some(good.as_str()),
        Auth::NotApplicable(_) => None,
    };
    let caller = Caller {
        http,
        base: target.base_url.trim_end_matches('/'),
        token: good,
    };
    let mut checks = vec![
        golden(&caller, target).await,
        live_model(&caller, target).await,
    ];
    checks.extend(auth_checks(&caller, target).await);
    checks.extend(validation_checks(&caller, target).await);
    let (latency, check) = latency(&caller, target).await;
    checks.push(check);
    checks.push(expired_check(&caller, target).await);
    Report {
        url: target.base_url.clone(),
        checks,
        latency,
    }
}

async fn golden(c: &Caller<'_>, t: &Target) -> Check {
    let name = "golden set answers as recorded";
    let g = match &t.golden {
        Ok(g) => g,
        Err(why) => return Check::fail(name, why.clone()),
    };
    let mut answered: Vec<Value> = Vec::new();
    for chunk in g.rows.chunks(t.max_batch.max(1) as usize) {
        let body = json!({"instances": chunk.iter().map(|r| flower_json(&r.features)).collect::<Vec<_>>()});
        match c.predict(body.to_string().into_bytes()).await {
            Ok(r) if r.status == 200 => match r
                .json()
                .and_then(|v| v.get("predictions").and_then(Value::as_array).cloned())
            {
                Some(p) => answered.extend(p),
                None => return Check::fail(name, "200 without a predictions list".to_owned()),
            },
            Ok(r) => {
                return Check::fail(
                    name,
                    format!("POST /predict answered {}: {}", r.status, snippet(&r.body)),
                );
            }
            Err(e) => return Check::fail(name, e),
        }
    }
    for (i, (row, got)) in g.rows.iter().zip(&answered).enumerate() {
        let got_species = got.get("species").and_then(Value::as_str).unwrap_or("");
        let got_probs: BTreeMap<String, f64> = got
            .get("probabilities")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        // The recorded answer, bit for bit (GoldenRow::compare's documented rule).
        if let Err(why) = row.compare(got_species, &got_probs) {
            return Check::fail(name, format!("golden row {i} {why} ({})", g.source));
        }
    }
    if answered.len() != g.rows.len() {
        return Check::fail(
            name,
            format!("{} rows sent, {} answered", g.rows.len(), answered.len()),
        );
    }
    Check::pass(
        name,
        format!(
            "{} rows, species and every probability exactly as recorded ({})",
            g.rows.len(),
            g.source
        ),
    )
}

async fn live_model(c: &Caller<'_>, t: &Target) -> Check {
    let name = "GET /model names the live model";
    let live = match &t.live_sha256 {
        Ok(sha) => sha,
        Err(why) => return Check::fail(name, why.clone()),
    };
    match c.call(Method::GET, "/model", c.token, None).await {
        Ok(r) if r.status == 200 => {
            let served = r
                .json()
                .and_then(|v| v.get("sha256").and_then(Value::as_str).map(str::to_owned));
            match served {
                Some(s) if &s == live => Check::pass(name, format!("sha256 {s}")),
                Some(s) => Check::fail(
                    name,
                    format!("the API serves model {s}; `irisctl status` says {live} is live"),
                ),
                None => Check::fail(name, "GET /model answered without a sha256".to_owned()),
            }
        }
        Ok(r) => Check::fail(
            name,
            format!("GET /model answered {}: {}", r.status, snippet(&r.body)),
        ),
        Err(e) => Check::fail(name, e),
    }
}

async fn auth_checks(c: &Caller<'_>, t: &Target) -> Vec<Check> {
    let names = [
        "no token -> 401",
        "token without the predict scope -> 401",
        "tampered token -> 401",
    ];
    let (good, unscoped) = match &t.auth {
        Auth::NotApplicable(why) => {
            return names
                .iter()
                .map(|n| Check::not_applicable(n, why.clone()))
                .collect();
        }
        Auth::Tokens { good, unscoped, .. } => (good, unscoped),
    };
    let body = || Some(flower_json(&FLOWER).to_string().into_bytes());
    let mut out = vec![expect_refusal(
        t,
        names[0],
        c.call(Method::POST, "/predict", None, body()).await,
        401,
    )];
    out.push(match unscoped {
        Ok(token) => expect_refusal(
            t,
            names[1],
            c.call(Method::POST, "/predict", Some(token), body()).await,
            401,
        ),
        Err(why) => Check::not_applicable(names[1], why.clone()),
    });
    out.push(expect_refusal(
        t,
        names[2],
        c.call(Method::POST, "/predict", Some(&tamper(good)), body())
            .await,
        401,
    ));
    out
}

async fn expired_check(c: &Caller<'_>, t: &Target) -> Check {
    let name = "expired token -> 401";
    match &t.auth {
        Auth::NotApplicable(why) => Check::not_applicable(name, why.clone()),
        Auth::Tokens {
            expiring: Err(why), ..
        } => Check::not_applicable(name, why.clone()),
        Auth::Tokens {
            expiring: Ok((token, exp)),
            ..
        } => {
            // Wait out the token's life (it was asked for with the shortest one).
            let now = crate::local::issuer::unix_now();
            if now <= *exp {
                tokio::time::sleep(Duration::from_millis((exp - now + 1) * 1000 + 100)).await;
            }
            let body = Some(flower_json(&FLOWER).to_string().into_bytes());
            expect_refusal(
                t,
                name,
                c.call(Method::POST, "/predict", Some(token), body).await,
                401,
            )
        }
    }
}

async fn validation_checks(c: &Caller<'_>, t: &Target) -> Vec<Check> {
    let mut missing = flower_json(&FLOWER);
    if let Some(m) = missing.as_object_mut() {
        m.remove("petal_width");
    }
    let mut string = flower_json(&FLOWER);
    string["sepal_length"] = json!("5.1");
    let oversized = json!({"instances": vec![flower_json(&FLOWER); t.max_batch as usize + 1]});
    let cases: [(&str, Vec<u8>); 5] = [
        ("malformed body -> 400", b"{\"sepal_length\": 5.1,".to_vec()),
        ("missing field -> 400", missing.to_string().into_bytes()),
        (
            "NaN -> 400",
            br#"{"sepal_length": NaN, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}"#.to_vec(),
        ),
        ("string value -> 400", string.to_string().into_bytes()),
        ("oversized batch -> 400", oversized.to_string().into_bytes()),
    ];
    let mut out = Vec::new();
    for (name, body) in cases {
        out.push(expect_refusal(t, name, c.predict(body).await, 400));
    }
    out
}

async fn latency(c: &Caller<'_>, t: &Target) -> (Option<Latency>, Check) {
    let name = "latency p99";
    let body = flower_json(&FLOWER).to_string().into_bytes();
    let mut ms = Vec::with_capacity(t.requests);
    for _ in 0..t.requests {
        let started = Instant::now();
        let next = t.pace.map(|p| started + p);
        match c.predict(body.clone()).await {
            Ok(r) if r.status == 200 => {
                ms.push(started.elapsed().as_secs_f64() * 1e3);
                if let Some(next) = next {
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            Ok(r) => {
                return (
                    None,
                    Check::fail(
                        name,
                        format!(
                            "POST /predict answered {} during the latency run: {}",
                            r.status,
                            snippet(&r.body)
                        ),
                    ),
                );
            }
            Err(e) => return (None, Check::fail(name, e)),
        }
    }
    let Some(l) = Latency::of(&mut ms) else {
        return (None, Check::not_applicable(name, "--requests 0".to_owned()));
    };
    let detail = format!(
        "p50 {:.1} ms, p99 {:.1} ms over {} requests",
        l.p50_ms, l.p99_ms, l.requests
    );
    let check = match t.max_p99_ms {
        Some(max) if l.p99_ms > max => {
            Check::fail(name, format!("{detail}; over --max-p99 {max} ms"))
        }
        Some(max) => Check::pass(name, format!("{detail}; within --max-p99 {max} ms")),
        None => Check::info(
            name,
            format!("{detail} (not a criterion without --max-p99)"),
        ),
    };
    (Some(l), check)
}

fn expect_refusal(t: &Target, name: &str, reply: Result<Reply, String>, status: u16) -> Check {
    let r = match reply {
        Ok(r) => r,
        Err(e) => return Check::fail(name, e),
    };
    if r.status != status {
        return Check::fail(
            name,
            format!(
                "answered {} (expected {status}): {}",
                r.status,
                snippet(&r.body)
            ),
        );
    }
    let shape = r.json().is_some_and(|v| {
        v.get("error")
            .and_then(|e| e.get("code"))
            .is_some_and(Value::is_string)
            && v.get("error")
                .and_then(|e| e.get("message"))
                .is_some_and(Value::is_string)
    });
    let default_shape = r
        .json()
        .is_some_and(|v| v.get("message").is_some_and(Value::is_string));
    if !shape && default_shape && !t.gateway_templates {
        return Check::pass(
            name,
            format!(
                "{status} {} (API Gateway's default body: this API ignores the template's gateway responses, docs/emulator-gaps.md)",
                snippet(&r.body)
            ),
        );
    }
    if !shape {
        return Check::fail(
            name,
            format!(
                "{status}, but not the API's JSON error shape: {}",
                snippet(&r.body)
            ),
        );
    }
    let code = r
        .json()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Check::pass(name, format!("{status} {code}"))
}

/// `token` with one signature character changed.
pub fn tamper(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    if let Some(last) = bytes.len().checked_sub(3) {
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

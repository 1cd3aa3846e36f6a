//! Whether a new release answers as it should, before and while it takes traffic: its own
//! golden set exactly as its artifact records it (the right model loaded, by the right
//! code), and the live release's answers on inputs near real flowers, within a tolerance
//! (a model that passes its own gate can still answer differently: trained on shuffled
//! labels, or on another data set). Pure: the invocations are in `run.rs`.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use iris_model::GoldenRow;
use serde::Serialize;
use serde_json::{Value, json};

/// The species and probabilities the function answered for one flower.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub species: String,
    pub probabilities: BTreeMap<String, f64>,
}

/// The API Gateway proxy event for `POST /predict` with `flowers`, as the stage sends it
/// (the function under a version qualifier is invoked with the same event the API sends).
pub fn predict_event(flowers: &[[f64; 4]], request_id: &str) -> Value {
    let instances: Vec<Value> = flowers.iter().map(flower_json).collect();
    let body = json!({ "instances": instances }).to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let uri = Uri::from_static("/predict");
    crate::local::front::build_event(&Method::POST, &uri, &headers, body.as_bytes(), request_id)
}

fn flower_json(f: &[f64; 4]) -> Value {
    let mut m = serde_json::Map::new();
    for (name, v) in iris_model::FEATURES.iter().zip(f) {
        m.insert((*name).to_owned(), json!(v));
    }
    Value::Object(m)
}

/// The answers in a function's proxy response to [`predict_event`]: `expected` of them,
/// or why not (a non-200 status, another shape).
pub fn parse_answers(payload: &[u8], expected: usize) -> Result<Vec<Answer>, String> {
    let response: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the function's answer is not JSON: {e}"))?;
    let status = response.get("statusCode").and_then(Value::as_u64);
    let body = response.get("body").and_then(Value::as_str).unwrap_or("");
    if status != Some(200) {
        let shown: String = body.chars().take(200).collect();
        return Err(format!(
            "POST /predict answered {}: {shown}",
            status.map_or("no status".to_owned(), |s| s.to_string())
        ));
    }
    let body: Value =
        serde_json::from_str(body).map_err(|e| format!("the 200 body is not JSON: {e}"))?;
    let predictions = body
        .get("predictions")
        .and_then(Value::as_array)
        .ok_or("the 200 body has no predictions list")?;
    if predictions.len() != expected {
        return Err(format!(
            "{expected} flowers sent, {} predictions answered",
            predictions.len()
        ));
    }
    predictions
        .iter()
        .map(|p| {
            let species = p
                .get("species")
                .and_then(Value::as_str)
                .ok_or("a prediction without species")?
                .to_owned();
            let probabilities = p
                .get("probabilities")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default();
            Ok(Answer {
                species,
                probabilities,
            })
        })
        .collect()
}

/// The golden set answered exactly as recorded (species and every probability, bit for
/// bit: [`GoldenRow::compare`]); the error names the first row that was not.
pub fn golden_matches(rows: &[GoldenRow], answers: &[Answer]) -> Result<(), String> {
    if rows.len() != answers.len() {
        return Err(format!(
            "{} golden rows, {} answers",
            rows.len(),
            answers.len()
        ));
    }
    for (i, (row, got)) in rows.iter().zip(answers).enumerate() {
        row.compare(&got.species, &got.probabilities)
            .map_err(|why| format!("golden row {i} {why}"))?;
    }
    Ok(())
}

/// Nudges in cm applied to the features, in turn: inputs close to the real flowers of the
/// golden set, where two good models should mostly agree (far from the data two good
/// forests may legitimately answer differently).
const NUDGES: [f64; 5] = [0.0, 0.1, -0.1, 0.2, -0.2];

/// `n` inputs near the golden set's flowers: row `i mod rows`, each feature moved by a
/// nudge that differs per feature and per pass, never below 0.1 cm. Deterministic, so a
/// resumed rollout checks the same inputs.
pub fn sample_inputs(rows: &[GoldenRow], n: usize) -> Vec<[f64; 4]> {
    if rows.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|k| {
            let row = &rows[k % rows.len()];
            let pass = k / rows.len();
            let mut f = row.features;
            for (j, x) in f.iter_mut().enumerate() {
                let nudge = NUDGES[(pass + j * 2) % NUDGES.len()];
                *x = ((*x + nudge) * 10.0).round() / 10.0;
                if *x < 0.1 {
                    *x = 0.1;
                }
            }
            f
        })
        .collect()
}

/// How the new release's species compare with the live one's on the same inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub compared: usize,
    pub disagreed: usize,
    /// `disagreed / compared` (0 when nothing was compared).
    pub share: f64,
    pub tolerance: f64,
    /// Up to three inputs answered differently, for the report.
    pub examples: Vec<String>,
}

impl Agreement {
    pub fn within_tolerance(&self) -> bool {
        self.share <= self.tolerance
    }
}

/// Compare species (not probabilities: a retrained forest moves them a little everywhere)
/// of `live` and `new` for `inputs`.
pub fn agreement(
    inputs: &[[f64; 4]],
    live: &[Answer],
    new: &[Answer],
    tolerance: f64,
) -> Agreement {
    let mut disagreed = 0;
    let mut examples = Vec::new();
    for ((input, l), n) in inputs.iter().zip(live).zip(new) {
        if l.species != n.species {
            disagreed += 1;
            if examples.len() < 3 {
                examples.push(format!("{input:?}: live {}, new {}", l.species, n.species));
            }
        }
    }
    let compared = inputs.len().min(live.len()).min(new.len());
    Agreement {
        compared,
        disagreed,
        share: if compared == 0 {
            0.0
        } else {
            disagreed as f64 / compared as f64
        },
        tolerance,
        examples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(features: [f64; 4], species: &str) -> GoldenRow {
        GoldenRow {
            features,
            label: species.into(),
            species: species.into(),
            probabilities: [(species.to_string(), 1.0)].into(),
            is_iris: true,
        }
    }

    fn answer(species: &str, p: f64) -> Answer {
        Answer {
            species: species.into(),
            probabilities: [(species.to_string(), p)].into(),
        }
    }

    #[test]
    fn the_event_is_a_post_to_predict_with_the_flowers_as_instances() {
        let event = predict_event(&[[5.1, 3.5, 1.4, 0.2]], "req-1");
        assert_eq!(event["httpMethod"], "POST");
        assert_eq!(event["path"], "/predict");
        assert_eq!(event["headers"]["content-type"], "application/json");
        let body: Value =
            serde_json::from_str(event["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["instances"][0]["petal_width"], 0.2);
        assert_eq!(event["requestContext"]["requestId"], "req-1");
    }

    #[test]
    fn answers_are_read_from_a_200_and_anything_else_says_why() {
        let ok = json!({"statusCode": 200, "body": json!({"predictions": [
            {"species": "setosa", "probabilities": {"setosa": 1.0}}]}).to_string()});
        let got = parse_answers(ok.to_string().as_bytes(), 1).expect("answers");
        assert_eq!(got, [answer("setosa", 1.0)]);
        let err = parse_answers(ok.to_string().as_bytes(), 2).expect_err("count");
        assert!(err.contains("2 flowers sent, 1 predictions"), "{err}");
        let bad = json!({"statusCode": 503, "body": "{\"error\":\"model failed to load\"}"});
        let err = parse_answers(bad.to_string().as_bytes(), 1).expect_err("503");
        assert!(
            err.contains("answered 503") && err.contains("model failed"),
            "{err}"
        );
        let err = parse_answers(b"not json", 1).expect_err("junk");
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn the_golden_set_must_match_bit_for_bit() {
        let rows = [row([5.1, 3.5, 1.4, 0.2], "setosa")];
        assert_eq!(golden_matches(&rows, &[answer("setosa", 1.0)]), Ok(()));
        let err = golden_matches(&rows, &[answer("setosa", 0.99)]).expect_err("prob");
        assert!(err.starts_with("golden row 0"), "{err}");
        let err = golden_matches(&rows, &[answer("virginica", 1.0)]).expect_err("species");
        assert!(err.contains("virginica"), "{err}");
        assert!(golden_matches(&rows, &[]).is_err());
    }

    #[test]
    fn samples_are_near_the_golden_flowers_deterministic_and_positive() {
        let rows = [
            row([5.1, 3.5, 1.4, 0.1], "setosa"),
            row([6.3, 3.3, 6.0, 2.5], "virginica"),
        ];
        let a = sample_inputs(&rows, 12);
        assert_eq!(a, sample_inputs(&rows, 12));
        assert_eq!(a.len(), 12);
        // The first feature of the first pass is not nudged: the golden flower's own value.
        assert_eq!(a[0][0], rows[0].features[0]);
        for (k, s) in a.iter().enumerate() {
            let base = rows[k % 2].features;
            for j in 0..4 {
                assert!(
                    (s[j] - base[j]).abs() <= 0.2 + 1e-9 || s[j] == 0.1,
                    "{s:?} {base:?}"
                );
                assert!(s[j] >= 0.1, "{s:?}");
            }
        }
        assert!(
            a.iter()
                .skip(2)
                .any(|s| !rows.iter().any(|r| r.features == *s))
        );
        assert!(sample_inputs(&[], 5).is_empty());
    }

    #[test]
    fn agreement_counts_species_differences_against_the_tolerance() {
        let inputs = [[1.0; 4], [2.0; 4], [3.0; 4], [4.0; 4]];
        let live = [
            answer("setosa", 1.0),
            answer("versicolor", 0.9),
            answer("virginica", 1.0),
            answer("setosa", 1.0),
        ];
        let same = [
            answer("setosa", 0.8),
            answer("versicolor", 0.7),
            answer("virginica", 1.0),
            answer("setosa", 1.0),
        ];
        let a = agreement(&inputs, &live, &same, 0.0);
        assert_eq!((a.disagreed, a.share), (0, 0.0));
        assert!(a.within_tolerance());
        let rotated = [
            answer("versicolor", 1.0),
            answer("virginica", 1.0),
            answer("setosa", 1.0),
            answer("setosa", 1.0),
        ];
        let a = agreement(&inputs, &live, &rotated, 0.5);
        assert_eq!((a.compared, a.disagreed), (4, 3));
        assert!(!a.within_tolerance(), "{a:?}");
        assert_eq!(a.examples.len(), 3);
        assert!(agreement(&inputs, &live, &rotated, 0.75).within_tolerance());
    }
}

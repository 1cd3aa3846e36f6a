//! Batch scoring with a real (small) model, without AWS: every output line matches
//! `Model::predict` on the same row (species, probabilities, is_iris), bad rows are
//! reported in place with their row number and never stop the file, and the counts add up.

mod common;

use common::model::trained;
use iris_lambda::batch::{parse, score};
use iris_model::Features;
use serde_json::Value;

#[test]
fn every_line_matches_the_models_prediction_and_bad_rows_are_reported_in_place() {
    let model = &trained().model;
    let mut csv = String::from("sepal_length,sepal_width,petal_length,petal_width,species\n");
    let mut expected: Vec<Option<[f64; 4]>> = Vec::new();
    let mut rng = 7_u64;
    for i in 0..3000 {
        // A small LCG: deterministic rows over and beyond the Iris ranges.
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as f64 / f64::from(1u32 << 31)
        };
        let v = [
            4.0 + next() * 5.0,
            1.5 + next() * 3.5,
            0.5 + next() * 7.0,
            0.05 + next() * 3.0,
        ];
        match i % 500 {
            7 => {
                csv.push_str("NaN,3,1,0.2,x\n");
                expected.push(None);
            }
            8 => {
                csv.push_str("5,-3,1,0.2,x\n");
                expected.push(None);
            }
            9 => {
                csv.push_str("5,3,1e300,0.2,x\n");
                expected.push(None);
            }
            10 => {
                csv.push_str("5,three,1,0.2,x\n");
                expected.push(None);
            }
            11 => {
                csv.push_str("5,3,1\n");
                expected.push(None);
            }
            _ => {
                csv.push_str(&format!("{},{},{},{},setosa\n", v[0], v[1], v[2], v[3]));
                expected.push(Some(v));
            }
        }
    }
    let parsed = parse::parse(csv.as_bytes(), 10_000).expect("parses");
    let scored = score::score(&parsed.rows, model);
    let text = String::from_utf8(scored.jsonl).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3000);
    assert_eq!(scored.bad, 30);
    assert_eq!(scored.ok, 2970);
    for (i, (line, want)) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(line["row"], i + 1, "{line}");
        assert_eq!(line["model_sha256"], model.sha256(), "{line}");
        match want {
            None => assert!(line["error"]["code"].is_string(), "row {}: {line}", i + 1),
            Some(v) => {
                let p = model.predict(&Features::new(*v).expect("valid"));
                assert_eq!(line["species"], p.species.as_str(), "row {}", i + 1);
                assert_eq!(line["is_iris"], p.is_iris, "row {}", i + 1);
                for (class, prob) in &p.probabilities {
                    assert_eq!(
                        line["probabilities"][class].as_f64(),
                        Some(*prob),
                        "row {}",
                        i + 1
                    );
                }
            }
        }
    }
    let codes: Vec<&str> = lines[7..12]
        .iter()
        .map(|l| l["error"]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_value",
            "invalid_value",
            "invalid_value",
            "wrong_type",
            "missing_field"
        ]
    );
    assert_eq!(lines[11]["error"]["field"], "petal_width");
}

#[test]
fn json_lines_score_like_csv() {
    let model = &trained().model;
    let csv =
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n";
    let jsonl = concat!(
        r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
        "\n",
        r#"{"petal_width":2.3,"petal_length":5.2,"sepal_width":3.0,"sepal_length":6.7}"#,
        "\n"
    );
    let a = score::score(&parse::parse(csv.as_bytes(), 10).expect("csv").rows, model);
    let b = score::score(
        &parse::parse(jsonl.as_bytes(), 10).expect("jsonl").rows,
        model,
    );
    assert_eq!(a, b);
}

/// Many rows share a cell of the forest's threshold grid, so the scorer answers them from
/// its memo and the writer copies their text: every line must still be, byte for byte,
/// the line `Model::predict` gives, including rows of one cell that differ in `is_iris`
/// (one inside the training range, one far outside it).
#[test]
fn repeated_and_threshold_rows_are_written_exactly_as_predicted() {
    let model = &trained().model;
    let data = iris_model::Dataset::builtin().expect("builtin");
    let mut rows: Vec<[f64; 4]> = Vec::new();
    for round in 0..5 {
        for (i, r) in data.rows.iter().enumerate() {
            let mut x = *r;
            if round > 0 {
                // Far outside the range, in the same cell as the data's extremes.
                x[(i + round) % 4] = if i % 2 == 0 { 0.01 } else { 99.0 };
            }
            rows.push(x);
            rows.push(*r);
        }
    }
    let forest = model.forest();
    for (i, node) in forest.nodes.iter().enumerate() {
        if node.child as usize == i {
            continue;
        }
        for v in [
            node.threshold.next_down(),
            node.threshold,
            node.threshold.next_up(),
        ] {
            let mut x = data.rows[i % data.rows.len()];
            x[usize::from(node.feature)] = v;
            rows.push(x);
        }
    }
    let mut csv = String::from("sepal_length,sepal_width,petal_length,petal_width\n");
    for (i, x) in rows.iter().enumerate() {
        if i % 97 == 5 {
            csv.push_str("5,3,abc,0.2\n");
        }
        // `{:?}` prints the shortest text that reads back as the same float.
        csv.push_str(&format!("{:?},{:?},{:?},{:?}\n", x[0], x[1], x[2], x[3]));
    }
    let parsed = parse::parse(csv.as_bytes(), 100_000).expect("parses");
    let scored = score::score(&parsed.rows, model);
    let text = String::from_utf8(scored.jsonl).expect("utf-8");
    let mut lines = text.lines();
    let mut next_good = rows.iter();
    for (n, row) in parsed.rows.iter().enumerate() {
        let line = lines.next().expect("one line per row");
        match row {
            Err(_) => assert!(line.contains("\"error\":"), "row {}: {line}", n + 1),
            Ok(features) => {
                let x = next_good.next().expect("as many good rows as written");
                assert_eq!(features.values(), x);
                let p = serde_json::to_string(&model.predict(features)).expect("json");
                let want = format!(
                    "{{\"row\":{},{},\"model_sha256\":\"{}\"}}",
                    n + 1,
                    &p[1..p.len() - 1],
                    model.sha256()
                );
                assert_eq!(line, want, "row {}", n + 1);
            }
        }
    }
    assert!(lines.next().is_none());
    assert!(scored.bad > 0 && scored.ok == rows.len());
}

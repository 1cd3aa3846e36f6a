//! Parsed rows + a model → the output file (JSON lines, one per row, in row order) and its
//! counts. Owns the output line format (documented in `lambda/README.md`). Pure: no I/O,
//! no clock, so the benchmark and the tests run exactly what the function runs.
//!
//! The fast path: valid rows are predicted in chunks through
//! `Model::predict_proba_into` (no per-row allocation) and written with `ryu`/`itoa`;
//! the species and `is_iris` follow the same rules as `Model::predict` (the first
//! highest probability wins; `is_iris` needs the top probability and every measurement
//! within the model's range), which the tests check row by row.

use std::io::Write as _;

use iris_model::{Features, Model};

use super::parse::BadRow;

/// Rows predicted per call: big enough to amortise the call, small enough for the cache.
const CHUNK: usize = 1024;

/// What scoring produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// The output file: one JSON object per line, `\n`-terminated.
    pub jsonl: Vec<u8>,
    pub ok: usize,
    pub bad: usize,
}

/// Scores every row, in order. Row numbers start at 1.
pub fn score(rows: &[Result<Features, BadRow>], model: &Model) -> Scored {
    let classes = model.classes();
    let nc = classes.len();
    // `"setosa":` etc., escaped once.
    let keys: Vec<Vec<u8>> = classes
        .iter()
        .map(|c| {
            let mut k = serde_json::to_vec(c).unwrap_or_else(|_| b"\"?\"".to_vec());
            k.push(b':');
            k
        })
        .collect();
    let species: Vec<Vec<u8>> = classes
        .iter()
        .map(|c| serde_json::to_vec(c).unwrap_or_else(|_| b"\"?\"".to_vec()))
        .collect();
    let tail = format!(",\"model_sha256\":\"{}\"}}\n", model.sha256());
    let min_top = model.data().is_iris.min_top_probability;

    let mut out = Vec::with_capacity(rows.len() * (96 + tail.len()));
    let mut ok = 0;
    let mut bad = 0;
    let mut batch: Vec<[f64; 4]> = Vec::with_capacity(CHUNK);
    let mut proba = vec![0.0; CHUNK * nc];
    let mut num = itoa::Buffer::new();
    let mut float = ryu::Buffer::new();

    for (start, chunk) in rows.chunks(CHUNK).enumerate().map(|(i, c)| (i * CHUNK, c)) {
        batch.clear();
        batch.extend(
            chunk
                .iter()
                .filter_map(|r| r.as_ref().ok().map(|f| *f.values())),
        );
        model.predict_proba_into(&batch, &mut proba[..batch.len() * nc]);
        let mut next = 0;
        for (offset, row) in chunk.iter().enumerate() {
            out.extend_from_slice(b"{\"row\":");
            out.extend_from_slice(num.format(start + offset + 1).as_bytes());
            match row {
                Ok(features) => {
                    let p = &proba[next * nc..(next + 1) * nc];
                    next += 1;
                    ok += 1;
                    let mut top = 0;
                    for (i, v) in p.iter().enumerate() {
                        if *v > p[top] {
                            top = i;
                        }
                    }
                    out.extend_from_slice(b",\"species\":");
                    out.extend_from_slice(&species[top]);
                    out.extend_from_slice(b",\"probabilities\":{");
                    for (i, (key, v)) in keys.iter().zip(p).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(key);
                        out.extend_from_slice(float.format(*v).as_bytes());
                    }
                    let is_iris = p[top] >= min_top && model.in_range(features);
                    out.extend_from_slice(if is_iris {
                        b"},\"is_iris\":true"
                    } else {
                        b"},\"is_iris\":false"
                    });
                }
                Err(err) => {
                    bad += 1;
                    out.extend_from_slice(b",\"error\":");
                    let body = match &err.field {
                        Some(field) => {
                            serde_json::json!({"code": err.code, "field": field, "message": err.message})
                        }
                        None => serde_json::json!({"code": err.code, "message": err.message}),
                    };
                    // Writing JSON into a Vec cannot fail.
                    let _ = write!(out, "{body}");
                }
            }
            out.extend_from_slice(tail.as_bytes());
        }
    }
    Scored {
        jsonl: out,
        ok,
        bad,
    }
}

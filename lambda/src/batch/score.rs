//! Parsed rows + a model → the output file (JSON lines, one per row, in row order) and its
//! counts. Owns the output line format (documented in `lambda/README.md`). Pure: no I/O,
//! no clock, so the benchmark and the tests run exactly what the function runs.
//!
//! The fast path: valid rows are predicted in chunks through one `Model::batch_scorer`
//! for the whole file (the forest runs once per cell of its thresholds' grid, not once per
//! row; same bits as `Model::predict_proba_into`), and written with `ryu`/`itoa`;
//! the species and `is_iris` follow the same rules as `Model::predict` (the first
//! highest probability wins; `is_iris` needs the top probability and every measurement
//! within the model's range), which the tests check row by row.

use std::io::Write as _;

use iris_model::cells::NOT_REMEMBERED;
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

    // About 110 bytes of row number, species and probabilities, then the tail.
    let mut out = Vec::with_capacity(rows.len() * (128 + tail.len()));
    let mut ok = 0;
    let mut bad = 0;
    let mut batch: Vec<[f64; 4]> = Vec::with_capacity(CHUNK);
    let mut proba = vec![0.0; CHUNK * nc];
    let mut cells = vec![NOT_REMEMBERED; CHUNK];
    let mut num = itoa::Buffer::new();
    let mut float = ryu::Buffer::new();
    let mut scorer = model.batch_scorer();
    // Per cell number: its `,"species":…,"probabilities":{…},"is_iris":` text (a range
    // of `texts`) and whether its top probability passes the is_iris rule. Equal cells
    // have equal probabilities, so their text is written once and copied after.
    let mut texts: Vec<u8> = Vec::new();
    let mut by_cell: Vec<Option<(std::ops::Range<usize>, bool)>> = Vec::new();

    for (start, chunk) in rows.chunks(CHUNK).enumerate().map(|(i, c)| (i * CHUNK, c)) {
        batch.clear();
        batch.extend(
            chunk
                .iter()
                .filter_map(|r| r.as_ref().ok().map(|f| *f.values())),
        );
        scorer.predict_cells_into(
            &batch,
            &mut proba[..batch.len() * nc],
            &mut cells[..batch.len()],
        );
        let mut next = 0;
        for (offset, row) in chunk.iter().enumerate() {
            out.extend_from_slice(b"{\"row\":");
            out.extend_from_slice(num.format(start + offset + 1).as_bytes());
            match row {
                Ok(features) => {
                    let p = &proba[next * nc..(next + 1) * nc];
                    let cell = cells[next];
                    next += 1;
                    ok += 1;
                    let known = by_cell.get(cell as usize).and_then(Option::as_ref);
                    let top_ok = match known {
                        Some((text, top_ok)) => {
                            out.extend_from_slice(&texts[text.clone()]);
                            *top_ok
                        }
                        None => {
                            let from = out.len();
                            let top_ok = write_probabilities(
                                &mut out, p, &species, &keys, min_top, &mut float,
                            );
                            if cell != NOT_REMEMBERED {
                                let cell = cell as usize;
                                if by_cell.len() <= cell {
                                    by_cell.resize(cell + 1, None);
                                }
                                let at = texts.len();
                                texts.extend_from_slice(&out[from..]);
                                by_cell[cell] = Some((at..texts.len(), top_ok));
                            }
                            top_ok
                        }
                    };
                    let is_iris = top_ok && model.in_range(features);
                    out.extend_from_slice(if is_iris { b"true" } else { b"false" });
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

/// `,"species":S,"probabilities":{…},"is_iris":` for one row's probabilities `p`, and
/// whether its top probability reaches `min_top` (the first highest wins, as in
/// `Model::predict`).
fn write_probabilities(
    out: &mut Vec<u8>,
    p: &[f64],
    species: &[Vec<u8>],
    keys: &[Vec<u8>],
    min_top: f64,
    float: &mut ryu::Buffer,
) -> bool {
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
    out.extend_from_slice(b"},\"is_iris\":");
    p[top] >= min_top
}

//! Batch scoring speed in one function process: the same `parse` → `score` the function
//! runs on a batch file (from its bytes in memory to the JSON-lines output), timed on a
//! file given on the command line. Prints one JSON object; bench/compare_batch.sh puts it
//! next to pandas + scikit-learn doing the same file. With OUT, the last run's output is
//! written there, so two builds can be compared byte for byte on the same file.
//!
//! Usage: batch_speed MODEL_DIR FILE [REPEAT [OUT]]

use std::path::PathBuf;
use std::time::Instant;

use iris_lambda::batch::{parse, score};
use iris_model::Artifact;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: batch_speed MODEL_DIR FILE [REPEAT [OUT]]";
    let model_dir = PathBuf::from(args.next().ok_or(usage)?);
    let file = PathBuf::from(args.next().ok_or(usage)?);
    let repeat: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let out_file = args.next().map(PathBuf::from);
    let artifact = Artifact::load(&model_dir)?;
    let bytes = std::fs::read(&file)?;
    let mut times = Vec::new();
    let mut parse_times = Vec::new();
    let mut rows = 0;
    let mut out_bytes = 0;
    let mut last = Vec::new();
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let parsed = parse::parse(&bytes, usize::MAX)?;
        parse_times.push(started.elapsed().as_secs_f64());
        let scored = score::score(&parsed.rows, &artifact.model);
        times.push(started.elapsed().as_secs_f64());
        rows = parsed.rows.len();
        out_bytes = scored.jsonl.len();
        last = std::hint::black_box(scored).jsonl;
    }
    if let Some(path) = &out_file {
        std::fs::write(path, &last)
            .map_err(|e| format!("cannot write the output to {}: {e}", path.display()))?;
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let parse_median = median(&mut parse_times);
    let median = median(&mut times);
    println!(
        "{}",
        serde_json::json!({
            "rows": rows,
            "input_bytes": bytes.len(),
            "output_bytes": out_bytes,
            "median_s": median,
            // Of the whole: parsing alone (the rest is scoring and writing JSON lines).
            "parse_median_s": parse_median,
            "rows_per_s": rows as f64 / median,
            "repeat": times.len(),
        })
    );
    Ok(())
}

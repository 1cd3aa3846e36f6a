#!/usr/bin/env bash
# Side-by-side benchmark: batch scoring of one CSV file (parse -> predict -> JSON lines)
# by the function's own code vs pandas + scikit-learn on the same file and split.
# Uses the same git-ignored venv as compare_sklearn.sh (.venv-bench/, pins in
# bench/requirements.txt). Usage: bench/compare_batch.sh [ROWS] [resampled|uniform]
# (default 1000000 resampled). `resampled`: rows of the training split, as
# compare_sklearn.sh does (the file docs/benchmarks.md reports). `uniform`: every value
# drawn uniformly over the training range at 0.001 cm, so rows fall in many different
# cells of the forest's threshold grid: the worst case for the memo of
# model-crate/src/cells.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
kind="${2:-resampled}"
case "$kind" in
  resampled | uniform) ;;
  *) echo "compare_batch.sh: unknown file kind '$kind'; use resampled or uniform" >&2; exit 1 ;;
esac
seed=42

# shellcheck source=bench/venv.sh
source bench/venv.sh
bench_venv

# The timing binary is built exactly as `irisctl package` builds the function (profile
# lambda, static musl, the same RUSTFLAGS), so it times the code the function runs and
# reuses the package build's compiled dependencies. iris-model only trains and splits here.
echo "== building iris-model and batch_speed (the function's build)" >&2
cargo build --locked -p iris-model --bin iris-model >&2
RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" CC_x86_64_unknown_linux_musl=musl-gcc \
  cargo build --locked --profile lambda --target x86_64-unknown-linux-musl -p iris-lambda --features batch-speed --bin batch_speed >&2
target="${CARGO_TARGET_DIR:-target}"
iris_model="$target/debug/iris-model"
speed="$target/x86_64-unknown-linux-musl/lambda/batch_speed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$iris_model" export-split --out "$work/split" --seed "$seed" >&2
"$iris_model" train --out "$work/model" --seed "$seed" >&2
# The file, without the label: rows of train.csv resampled as compare_sklearn.sh does, or
# uniform values over the same ranges (seeded, so every run times the same bytes).
.venv-bench/bin/python - "$work/split/train.csv" "$work/flowers.csv" "$rows" "$kind" "$seed" <<'PY'
import sys
import numpy as np
src, dst, n, kind, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
x = np.loadtxt(src, delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
header = "sepal_length,sepal_width,petal_length,petal_width"
if kind == "resampled":
    idx = (np.arange(n, dtype=np.int64) * 7919) % len(x)
    np.savetxt(dst, x[idx], delimiter=",", fmt="%.1f", header=header, comments="")
else:
    rng = np.random.default_rng(seed)
    u = rng.uniform(x.min(axis=0), x.max(axis=0), size=(n, 4))
    np.savetxt(dst, u, delimiter=",", fmt="%.3f", header=header, comments="")
PY
sha="$(.venv-bench/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$work/model/manifest.json")"
echo "== measuring iris-lambda (parse -> score)" >&2
"$speed" "$work/model" "$work/flowers.csv" 5 > "$work/rust.json"
echo "== measuring pandas + scikit-learn" >&2
.venv-bench/bin/python bench/compare_batch.py --train "$work/split/train.csv" --file "$work/flowers.csv" \
  --rust-json "$work/rust.json" --sha "$sha" --seed "$seed"

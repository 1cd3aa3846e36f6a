#!/usr/bin/env bash
# Side-by-side benchmark: iris-model vs scikit-learn RandomForestClassifier(n_estimators=100)
# on exactly the same train/test split (exported by `iris-model export-split`).
# Creates its own git-ignored venv (.venv-bench/) with the exact pins in
# bench/requirements.txt. Usage: bench/compare_sklearn.sh [ROWS] (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
seed=42

# shellcheck source=bench/venv.sh
source bench/venv.sh
bench_venv

echo "== building iris-model (release)" >&2
cargo build --release --locked -p iris-model --bin iris-model --example speed >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/release/iris-model export-split --out "$work/split" --seed "$seed" >&2
target/release/iris-model train --out "$work/model" --seed "$seed" >&2
echo "== measuring iris-model" >&2
target/release/examples/speed "$work/model" "$work/split/train.csv" "$rows" > "$work/rust.json"
echo "== measuring scikit-learn" >&2
.venv-bench/bin/python bench/compare_sklearn.py --split "$work/split" --rust-json "$work/rust.json" \
  --rust-bin target/release/iris-model --rust-model "$work/model" --work "$work" \
  --rows "$rows" --seed "$seed"

#!/usr/bin/env bash
# Side-by-side benchmark of the SageMaker-style inference container: `bootstrap serve`
# (the function's static binary, in the image `irisctl image build` writes) versus a
# Python scikit-learn server on the same contract (bench/container_python/serve.py), each
# with its model on disk. Prints image size (what each image holds beyond a base OS) and
# cold start (process start to GET /ping 200), and their ratios.
#
# usage: bench/compare_container.sh [COLD_RUNS=20]
# needs: python3 and PyPI for .venv-bench (pins in bench/requirements.txt); no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
seed=42

# shellcheck source=bench/venv.sh
source bench/venv.sh
bench_venv

echo "== building irisctl and iris-model (the test build, as scripts/demo does)" >&2
cargo test --locked --workspace --no-run >&2
target="${CARGO_TARGET_DIR:-target}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$target/debug/iris-model" export-split --out "$work/split" --seed "$seed" >&2
"$target/debug/iris-model" train --out "$work/model" --seed "$seed" >&2
# The image: the same static bootstrap `irisctl package` zips (built as the function is).
"$target/debug/irisctl" image build --out "$work/image" >&2
# The Python side's model: 100 trees, the same training rows.
mkdir -p "$work/sklearn-model"
.venv-bench/bin/python bench/lambda_python/train.py "$work/split/train.csv" "$work/sklearn-model/model.joblib"
.venv-bench/bin/python bench/compare_container.py --image "$work/image" --model "$work/model" \
  --sklearn-model "$work/sklearn-model" --runs "$runs" --work "$work"

#!/usr/bin/env bash
# Side-by-side benchmark of the inference function: the Rust bootstrap from
# `irisctl package` versus the usual Python handler (scikit-learn + joblib under AWS's
# awslambdaric), both run under `irisctl local serve` and loading their model from the
# same emulator S3. Prints cold start, warm p50/p99, package size, and the ratios.
#
# usage: bench/compare_lambda.sh [WARM_REQUESTS=1000] [COLD_RUNS=5]
#        LAMBDA_ZIP=path/lambda.zip bench/compare_lambda.sh   # measure a prebuilt package
# needs: an S3 emulator at AWS_ENDPOINT_URL (scripts/emulator); without it the script
#        starts moto from .venv-moto (python3 -m venv .venv-moto && .venv-moto/bin/pip
#        install 'moto[server]==5.2.5').
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
COLD_RUNS="${2:-5}"
OUT=out/bench
mkdir -p "$OUT"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_EC2_METADATA_DISABLED=true
if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
    [[ -x .venv-moto/bin/moto_server ]] || { echo "set AWS_ENDPOINT_URL or create .venv-moto (see header)" >&2; exit 1; }
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    .venv-moto/bin/moto_server -H 127.0.0.1 -p "$PORT" > "$OUT/moto.log" 2>&1 &
    MOTO=$!
    trap 'kill $MOTO 2>/dev/null || true' EXIT
    export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
    for _ in $(seq 50); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done
fi
case "$AWS_ENDPOINT_URL" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "refusing non-loopback $AWS_ENDPOINT_URL" >&2; exit 1;; esac

echo "== Python venv (.venv-bench: scikit-learn, joblib, boto3, awslambdaric)"
if ! .venv-bench/bin/python -c 'import sklearn, joblib, boto3, awslambdaric' 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q --disable-pip-version-check 'scikit-learn==1.7.*' joblib boto3 'awslambdaric==4.2.2'
fi

echo "== build (irisctl, iris-model, release bootstrap)"
cargo build -q -p irisctl -p iris-model --bins
IRISCTL=target/debug/irisctl
if [[ -n "${LAMBDA_ZIP:-}" ]]; then
    mkdir -p "$OUT/rust" && cp "$LAMBDA_ZIP" "$OUT/rust/lambda.zip"
else
    "$IRISCTL" package --out "$OUT/rust" | tee "$OUT/package.txt"
fi
target/debug/iris-model train --out "$OUT/artifact" > /dev/null

echo "== Python model (same CSV, 100 trees, seed 42) → S3"
.venv-bench/bin/python bench/lambda_python/train.py model-crate/data/iris.csv "$OUT/model.joblib"
BUCKET=iris-bench-python
.venv-bench/bin/python - "$BUCKET" "$OUT/model.joblib" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
try:
    s3.create_bucket(Bucket=sys.argv[1])
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
s3.upload_file(sys.argv[2], sys.argv[1], "models/sklearn/model.joblib")
PY

echo "== measure ($N warm requests, $COLD_RUNS cold starts each)"
.venv-bench/bin/python bench/lambda_bench.py rust "$N" "$COLD_RUNS" \
    "$IRISCTL" local serve --port 0 --zip "$OUT/rust/lambda.zip" --model "$OUT/artifact" --bucket iris-bench-rust \
    > "$OUT/rust.json"
.venv-bench/bin/python bench/lambda_bench.py python "$N" "$COLD_RUNS" \
    "$IRISCTL" local serve --port 0 --workdir bench/lambda_python \
    --command "$(pwd)/.venv-bench/bin/python -m awslambdaric handler.handler" \
    --function-env MODEL_BUCKET="$BUCKET" --function-env MODEL_KEY=models/sklearn/model.joblib --function-env PYTHONDONTWRITEBYTECODE=1 \
    > "$OUT/python.json"

SITE=$(.venv-bench/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Everything the handler imports beyond boto3 (which Lambda's Python runtime provides):
# the packages, their .libs (bundled BLAS, libgomp) and dist-info.
PY_BYTES=$(du -scb "$SITE"/{sklearn,scikit_learn,numpy,scipy,joblib,threadpoolctl}* | tail -1 | cut -f1)
RUST_BYTES=$(stat -c %s "$OUT/rust/lambda.zip")
RUST_UNZIPPED=$(unzip -l "$OUT/rust/lambda.zip" | tail -1 | awk '{print $1}')

python3 - "$OUT/rust.json" "$OUT/python.json" "$RUST_BYTES" "$RUST_UNZIPPED" "$PY_BYTES" <<'PY'
import json, sys
r, p = (json.load(open(f)) for f in sys.argv[1:3])
rust_zip, rust_unzipped, py = (int(x) for x in sys.argv[3:6])
rows = [
    ("cold start, median (ms)", r["cold_ms_median"], p["cold_ms_median"]),
    ("warm p50, handler (ms)", r["warm_handler_p50_ms"], p["warm_handler_p50_ms"]),
    ("warm p99, handler (ms)", r["warm_handler_p99_ms"], p["warm_handler_p99_ms"]),
    ("warm p50, function (ms)", r["warm_function_p50_ms"], p["warm_function_p50_ms"]),
    ("warm p99, function (ms)", r["warm_function_p99_ms"], p["warm_function_p99_ms"]),
    ("warm p50, via HTTP front (ms)", r["warm_client_p50_ms"], p["warm_client_p50_ms"]),
    ("warm p99, via HTTP front (ms)", r["warm_client_p99_ms"], p["warm_client_p99_ms"]),
    ("package, unzipped (MB)", rust_unzipped / 1e6, py / 1e6),
    ("package: Rust zip vs Python unzipped (MB)", rust_zip / 1e6, py / 1e6),
]
print(f"{'':42} {'Rust':>10} {'Python':>10} {'Python/Rust':>12}")
for name, a, b in rows:
    print(f"{name:42} {a:10.3f} {b:10.3f} {b / a:11.1f}x")
print(f"{'Rust lambda.zip (MB)':42} {rust_zip / 1e6:10.3f}")
print(f"cold starts (ms): rust {r['cold_ms_all']} python {p['cold_ms_all']}")
PY

#!/usr/bin/env bash
# Side-by-side latency of one prediction through each depth of the serving path: the bare
# handler, the function under a Runtime API, `irisctl local serve`, and LocalStack's API
# Gateway in front of the deployed emulator env (bench/compare_paths.py explains each).
#
# usage: eval "$(scripts/emulator env)"          # the emulators running
#        scripts/demo  (or irisctl deploy --env local ...)   # the emulator env deployed
#        bench/compare_paths.sh [REQUESTS=500] [ENV=local]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-500}"
ENV_NAME="${2:-local}"
OUT=out/bench
mkdir -p "$OUT"
case "${AWS_ENDPOINT_URL:-}" in
    http://127.0.0.1:*|http://localhost:*) ;;
    *) echo "compare_paths.sh: set the emulator endpoint first: eval \"\$(scripts/emulator env)\"" >&2; exit 1;;
esac

echo "== build (cargo test --no-run: the build scripts/test and scripts/demo use)" >&2
cargo test --workspace --locked --no-run >&2
target="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
IRISCTL="$target/debug/irisctl"

status="$("$IRISCTL" status --env "$ENV_NAME" --output json)"
url="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("local_api_url") or "")' <<<"$status")"
[[ -n "$url" ]] || { echo "compare_paths.sh: env $ENV_NAME has no API URL; deploy it first (scripts/demo)" >&2; exit 1; }

echo "== package + model (the artifacts the deployed env runs are rebuilt identically)" >&2
"$IRISCTL" package --out "$OUT/paths-package" >&2
"$target/debug/iris-model" train --out "$OUT/paths-model" >&2

echo "== $N requests: handler, function and local serve (bench/lambda_bench.py)" >&2
python3 bench/lambda_bench.py rust "$N" 1 \
    "$IRISCTL" local serve --port 0 --zip "$OUT/paths-package/lambda.zip" \
    --model "$OUT/paths-model" --bucket iris-bench-paths > "$OUT/paths-local.json"

echo "== $N requests through LocalStack's API Gateway ($url)" >&2
python3 bench/compare_paths.py --url "$url" --requests "$N" --local-json "$OUT/paths-local.json"

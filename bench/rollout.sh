#!/usr/bin/env bash
# What a gradual rollout costs beyond its bake, side by side with the same change made all
# at once (the named baseline): `model push` of another model into a deployed emulator env,
# alternating two models so every push is a new release. For each strategy: wall time,
# the bake the schedule asks for, the time beyond it, and the AWS calls (all of them,
# counted by a loopback proxy, and the rollout's own by kind from its JSON report).
#
# usage: bench/rollout.sh [ROUNDS=3]       (emulators running: scripts/emulator start)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
eval "$(scripts/emulator env)"
echo "== building irisctl and iris-model (the test build, as scripts/demo does)" >&2
cargo test --locked --workspace --no-run >&2
target="${CARGO_TARGET_DIR:-target}"
IRISCTL="$target/debug/irisctl"
work="$(mktemp -d)"; trap 'kill $proxy 2>/dev/null; "$IRISCTL" destroy --env "$env" --envs-dir "$envs" --yes >/dev/null 2>&1; rm -rf "$work"' EXIT
"$target/debug/iris-model" train --out "$work/a" >&2
"$target/debug/iris-model" train --out "$work/b" --trees 10 >&2
"$IRISCTL" package --out "$work/package" >&2
envs="$work/envs"; mkdir -p "$envs"; cp environments/*.yaml "$envs/"
env="local-br$RANDOM"; cp environments/local.yaml "$envs/$env.yaml"
"$IRISCTL" deploy --env "$env" --envs-dir "$envs" --yes --model "$work/a" --package "$work/package" >/dev/null 2>&1
upstream="$AWS_ENDPOINT_URL" port=$((20000 + RANDOM % 20000))
python3 bench/count_proxy.py "$port" "$upstream" "$work/calls" & proxy=$!
sleep 0.5
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
next=b
push() { # strategy -> one line of numbers
    : >"$work/calls"
    local t0 t1
    t0=$(date +%s.%N)
    "$IRISCTL" model push --env "$env" --envs-dir "$envs" --model "$work/$next" --strategy "$1" \
        --output json >"$work/out.json" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    next=$([[ $next == a ]] && echo b || echo a)
    python3 - "$1" "$t0" "$t1" "$(wc -l <"$work/calls")" "$work/out.json" <<'PY'
import json, sys
strategy, t0, t1, calls, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = json.load(open(path)).get("rollout") or {}
bake = r.get("bake_s", 0.0)
c = r.get("calls", {})
steps = max(len(r.get("steps", [])), 1)
print(f"{strategy} {t1 - t0:.2f} {bake:.2f} {t1 - t0 - bake:.2f} {calls} {steps} "
      f"{c.get('stack_updates', 1)} {c.get('invoke', 0)} {c.get('describe_alarms', 0)} {r.get('outcome', 'n/a')}")
PY
}
: >"$work/rows"
for _ in $(seq "$rounds"); do
    for s in all-at-once canary:50,5s linear:50,5s; do push "$s" >>"$work/rows"; done
done
python3 - "$work/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    s, wall, bake, beyond, calls, steps, updates, invokes, alarms, outcome = line.split()
    rows.setdefault(s, []).append((float(wall), float(bake), float(beyond), int(calls), int(steps), int(updates), int(invokes), int(alarms), outcome))
base = statistics.median(r[0] for r in rows["all-at-once"])
print(f"{'strategy':<14} {'wall s':>7} {'bake s':>7} {'beyond bake':>12} {'vs all-at-once':>15} {'AWS calls':>10} {'steps':>6} {'updates':>8} {'invokes':>8} {'alarm reads':>12}  outcome")
for s, rs in rows.items():
    med = lambda i: statistics.median(r[i] for r in rs)
    beyond = med(2)
    print(f"{s:<14} {med(0):7.2f} {med(1):7.2f} {beyond:12.2f} {beyond / base:14.2f}x {med(3):10.0f} {med(4):6.0f} {med(5):8.0f} {med(6):8.0f} {med(7):12.0f}  {rs[0][8]}")
print(f"(medians of {len(rows['all-at-once'])} pushes each; 'vs all-at-once' = time beyond the bake / the all-at-once push's time)")
PY

#!/usr/bin/env bash
# Deploy time of irisctl vs `aws cloudformation deploy` (awscli, pinned, in .venv-awscli/)
# on the same rendered templates and the same emulator, side by side: a create from
# nothing and a no-op redeploy, with the AWS calls of each counted by a loopback proxy.
# Also irisctl's create time against CloudFormation's own time for the same three stacks
# (irisctl's "creating" line to each stack's CREATE_COMPLETE event), and the no-op time
# without the proxy.
# Both sides deploy storage -> auth -> service, passing outputs as parameters and
# uploading the same artifacts first (awscli: `aws s3 cp`, as a hand-written script would).
#
#   bench/deploy.sh MODEL_DIR PACKAGE_DIR     (emulators running: scripts/emulator start)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="$1" PACKAGE="$2"
eval "$(scripts/emulator env)"
# Its own venv: awscli pins a botocore that the boto3 of bench/compare_lambda.sh rejects.
[[ -x .venv-awscli/bin/aws ]] || { python3 -m venv .venv-awscli && .venv-awscli/bin/pip install -q 'awscli==1.42.76'; }
AWS=.venv-awscli/bin/aws
# The binary users run; IRISCTL=target/debug/irisctl measures a debug build.
IRISCTL="${IRISCTL:-target/release/irisctl}"
[[ -x "$IRISCTL" ]] || { echo "build it first: cargo build --release --locked -p irisctl" >&2; exit 1; }
work="$(mktemp -d)"; trap 'kill $proxy 2>/dev/null; rm -rf "$work"' EXIT
upstream="$AWS_ENDPOINT_URL" port=$((20000 + RANDOM % 20000))
python3 bench/count_proxy.py "$port" "$upstream" "$work/calls" & proxy=$!
sleep 0.5
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
envs="$work/envs"; mkdir -p "$envs"; cp environments/*.yaml "$envs/"
id=$RANDOM
cp environments/local.yaml "$envs/local-bi$id.yaml"; cp environments/local.yaml "$envs/local-ba$id.yaml"
now() { date +%s.%N; }
measure() { # label command...
    : >"$work/calls"; local t0; t0=$(now)
    "${@:2}" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
    printf '%-34s %6.2f s %4d calls\n' "$1" "$(echo "$(now) - $t0" | bc)" "$(wc -l <"$work/calls")"
}
# irisctl
measure "irisctl deploy (create)" $IRISCTL deploy --env "local-bi$id" --envs-dir "$envs" --yes --model "$MODEL" --package "$PACKAGE"
measure "irisctl deploy (no-op)" $IRISCTL deploy --env "local-bi$id" --envs-dir "$envs" --yes --model "$MODEL" --package "$PACKAGE"
sort "$work/calls" | uniq -c | sed 's/^/    no-op call: /'
# irisctl's create against CloudFormation's own time, without the proxy (it adds a few ms
# to every call), on a fresh env each run. From irisctl's timestamped log: per stack,
# CloudFormation's time runs from irisctl's "creating" line (written just before the
# CreateStack call) to the stack's CREATE_COMPLETE event (LocalStack stamps events with
# this machine's clock); irisctl's time is the whole process, start to exit.
cfn_time() { # irisctl stderr -> seconds summed over the stacks it created
    python3 -c '
import re, sys, datetime
ts = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
start, total = {}, 0.0
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)  (iris-\S+): creating", line)
    if m:
        start[m[2]] = ts(m[1])
    m = re.match(r"(\S+)  (iris-\S+)  (iris-\S+) \(AWS::CloudFormation::Stack\)  CREATE_COMPLETE", line)
    if m and m[2] == m[3] and m[2] in start:
        total += (ts(m[1]) - start.pop(m[2])).total_seconds()
print(f"{total:.3f}")
' "$1"
}
cp environments/local.yaml "$envs/local-bc$id.yaml"
for run in 1 2 3; do
    t0=$(now)
    AWS_ENDPOINT_URL=$upstream $IRISCTL deploy --env "local-bc$id" --envs-dir "$envs" --yes --model "$MODEL" --package "$PACKAGE" >"$work/out" 2>&1 \
        || { cat "$work/out"; exit 1; }
    took=$(echo "$(now) - $t0" | bc)
    cfn=$(cfn_time "$work/out")
    printf 'irisctl deploy (create, no proxy) run %d: %.2f s; CloudFormation %.2f s; ratio %.2fx (target <= 1.2x)\n' \
        "$run" "$took" "$cfn" "$(echo "$took / $cfn" | bc -l)"
    AWS_ENDPOINT_URL=$upstream $IRISCTL destroy --env "local-bc$id" --envs-dir "$envs" --yes >/dev/null 2>&1
done
# The no-op again without the proxy in front (what a user sees), five times.
for _ in 1 2 3 4 5; do
    t0=$(now)
    AWS_ENDPOINT_URL=$upstream $IRISCTL deploy --env "local-bi$id" --envs-dir "$envs" --yes --model "$MODEL" --package "$PACKAGE" >/dev/null 2>&1
    printf '%.3f ' "$(echo "$(now) - $t0" | bc)"
done | sed 's/^/irisctl deploy (no-op, no proxy), 5 runs: /; s/$/s\n/'
# awscli on the same templates (rendered for its own env name)
$IRISCTL render --env "local-ba$id" --envs-dir "$envs" --out "$work/t" >/dev/null
svc_params="$(AWS_ENDPOINT_URL=$upstream $AWS cloudformation describe-stacks --stack-name "iris-local-bi$id-service" \
    --query 'Stacks[0].Parameters[?starts_with(ParameterKey, `Lambda`) || starts_with(ParameterKey, `Model`) || starts_with(ParameterKey, `Manifest`)].[ParameterKey,ParameterValue]' --output text \
    | awk '$1 != "ModelBucketName" && $1 !~ /VersionId$/ {print $1"="$2}')"
awscli_deploy() {
    local s="iris-local-ba$id"
    $AWS cloudformation deploy --no-fail-on-empty-changeset --template-file "$work/t/$s-storage.yaml" --stack-name "$s-storage"
    local bucket; bucket=$($AWS cloudformation describe-stacks --stack-name "$s-storage" --query "Stacks[0].Outputs[?OutputKey=='ModelBucketName'].OutputValue" --output text)
    $AWS cloudformation deploy --no-fail-on-empty-changeset --template-file "$work/t/$s-auth.yaml" --stack-name "$s-auth"
    local sha; sha=$(sha256sum "$MODEL/model.bin" | cut -d' ' -f1)
    local zsha; zsha=$(sha256sum "$PACKAGE/lambda.zip" | cut -d' ' -f1)
    $AWS s3 cp --quiet "$PACKAGE/lambda.zip" "s3://$bucket/lambda/$zsha.zip"
    $AWS s3 cp --quiet "$MODEL/model.bin" "s3://$bucket/models/$sha/model.bin"
    $AWS s3 cp --quiet "$MODEL/manifest.json" "s3://$bucket/models/$sha/manifest.json"
    local declared outs
    declared=$(awk '/^Parameters:/{p=1;next} /^[A-Za-z]/{p=0} p && /^  [A-Za-z0-9]+:/{sub(":","",$1); print $1}' "$work/t/$s-service.yaml")
    outs=$(for st in storage auth; do $AWS cloudformation describe-stacks --stack-name "$s-$st" \
        --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text; done \
        | awk -v d="$declared" 'BEGIN{split(d,a,"\n"); for(i in a) ok[a[i]]=1} ok[$1] {print $1"="$2}')
    # shellcheck disable=SC2086
    $AWS cloudformation deploy --no-fail-on-empty-changeset --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
        --template-file "$work/t/$s-service.yaml" --stack-name "$s-service" \
        --parameter-overrides $outs $svc_params
}
measure "aws cloudformation deploy (create)" awscli_deploy
measure "aws cloudformation deploy (no-op)" awscli_deploy
export AWS_ENDPOINT_URL="$upstream"
$IRISCTL destroy --env "local-bi$id" --envs-dir "$envs" --yes >/dev/null 2>&1
$IRISCTL destroy --env "local-ba$id" --envs-dir "$envs" --yes >/dev/null 2>&1

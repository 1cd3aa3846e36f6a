"""Latency of the deployed function on the emulator: cold starts through LocalStack's Lambda
Invoke and p50/p99 of N sequential requests through LocalStack's API Gateway.

    eval "$(scripts/emulator env)"
    irisctl deploy --env local ...      # an emulator env with the real package and model
    <state>/venv-localstack/bin/python scripts/emulator.d/bench_function.py \
        "$AWS_ENDPOINT_URL" ENV [N]

Runs with the LocalStack venv's Python (it has boto3). A cold start is forced by a
configuration change (a new function version, so LocalStack stops the old environment).
Only talks to the given (loopback) endpoint; bounded: 3 cold starts, 60 warm invokes, N+5
API requests.
"""

import json
import statistics
import sys
import time
import urllib.request

import boto3

FLOWER = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, int(round(q * len(sorted_ms) + 0.5)))
    return sorted_ms[min(len(sorted_ms), rank) - 1]


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    endpoint, env = sys.argv[1].rstrip("/"), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    if not endpoint.startswith(("http://127.", "http://localhost")):
        sys.exit(f"bench_function.py: {endpoint} is not a loopback emulator endpoint")
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    cfn, lam = boto3.client("cloudformation", **kw), boto3.client("lambda", **kw)
    stack = cfn.describe_stacks(StackName=f"iris-{env}-service")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    function, api_url = outputs["FunctionName"], outputs["ApiUrl"]
    api_id = api_url.split("//")[1].split(".")[0]
    stage = api_url.rstrip("/").rsplit("/", 1)[1]
    base = f"{endpoint}/_aws/execute-api/{api_id}/{stage}"
    body = json.dumps(FLOWER)
    event = json.dumps(
        {
            "path": "/predict",
            "httpMethod": "POST",
            "headers": {"content-type": "application/json"},
            "requestContext": {"httpMethod": "POST", "path": f"/{stage}/predict", "stage": stage},
            "body": body,
            "isBase64Encoded": False,
        }
    )

    def invoke() -> float:
        started = time.perf_counter()
        answer = lam.invoke(FunctionName=function, Payload=event)
        answer["Payload"].read()
        if "FunctionError" in answer:
            sys.exit(f"the function failed: {answer}")
        return (time.perf_counter() - started) * 1000

    for i in range(3):
        # A configuration change is a new version: LocalStack stops the old environment.
        lam.update_function_configuration(
            FunctionName=function, Description=f"bench cold start {i} at {time.time()}"
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName=function)
        cold = invoke()
        warm = statistics.median(invoke() for _ in range(20))
        print(f"cold start {i + 1}: {cold:.0f} ms; warm sync invoke p50 {warm:.1f} ms")

    def post() -> float:
        request = urllib.request.Request(
            f"{base}/predict", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as answer:
            if answer.status != 200 or "species" not in json.loads(answer.read()):
                sys.exit(f"POST {base}/predict answered {answer.status}")
        return (time.perf_counter() - started) * 1000

    for _ in range(5):
        post()
    latencies = sorted(post() for _ in range(n))
    print(
        f"API Gateway POST /predict x{n} (sequential, one client): "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"min {latencies[0]:.1f}, max {latencies[-1]:.1f}"
    )


if __name__ == "__main__":
    main()

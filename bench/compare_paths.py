"""Latency of one prediction at each depth of the serving path, side by side:

  handler       route + validate + predict + serialize, from the function's own log line
  function      Runtime API hands out the event -> receives the answer (Lambda's duration)
  local serve   client -> `irisctl local serve` (its Runtime API) -> the function, HTTP keep-alive
  API Gateway   client -> LocalStack's API Gateway -> LocalStack's Lambda (the project's
                local-process executor) -> the function: the deployed emulator env

The first three come from bench/lambda_bench.py's JSON (--local-json); this script sends
the API Gateway requests itself: N sequential POST /predict to --url from one client, after
5 warm-up requests. Prints p50 and p99 of each and the ratio to the bare handler.
Standard library only.
"""

import argparse
import json
import sys
import time
import urllib.request

BODY = json.dumps(
    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
).encode()


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def post(url, token):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/predict", data=BODY, headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as answer:
        payload = answer.read()
    elapsed = (time.perf_counter() - started) * 1e3
    if answer.status != 200 or b"species" not in payload:
        sys.exit(f"POST {url}/predict answered {answer.status}: {payload[:300]!r}")
    return elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="the emulator env's API URL")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--local-json", required=True, help="bench/lambda_bench.py's output")
    p.add_argument("--token", default="", help="a bearer token, when the API wants one")
    args = p.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost")):
        sys.exit(f"compare_paths.py: {args.url} is not a loopback emulator URL")
    local = json.load(open(args.local_json))
    for _ in range(5):
        post(args.url, args.token)
    api = [post(args.url, args.token) for _ in range(args.requests)]
    rows = [
        ("handler", local["warm_handler_p50_ms"], local["warm_handler_p99_ms"]),
        ("function (Runtime API round trip)", local["warm_function_p50_ms"], local["warm_function_p99_ms"]),
        ("local serve (HTTP, keep-alive)", local["warm_client_p50_ms"], local["warm_client_p99_ms"]),
        ("LocalStack API Gateway -> Lambda", pct(api, 50), pct(api, 99)),
    ]
    base50, base99 = rows[0][1], rows[0][2]
    print(f"{args.requests} sequential POST /predict per path (warm), one client")
    print(f"{'path':36} {'p50 ms':>9} {'p99 ms':>9} {'p50/handler':>12} {'p99/handler':>12}")
    for name, p50, p99 in rows:
        print(f"{name:36} {p50:9.3f} {p99:9.3f} {p50 / base50:11.0f}x {p99 / base99:11.0f}x")
    print(f"LocalStack API Gateway: min {min(api):.1f} ms, max {max(api):.1f} ms")


if __name__ == "__main__":
    main()

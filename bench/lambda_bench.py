"""Driver for bench/compare_lambda.sh: runs one function under `irisctl local serve`,
measures the cold start (fresh runtime process → first answer, model download included)
and warm latency, and prints one JSON line.

Warm latency is reported at three depths: the handler itself (route, validate, predict,
serialize; from the function's own request log line), the function's duration between
the Runtime API handing out the event and receiving the response (what Lambda bills; from
irisctl's REPORT lines), and end to end through the local HTTP front (client side).

Cold start is measured from the first request: `local serve` starts the function process
lazily on it, as Lambda does."""
import http.client
import json
import re
import statistics
import subprocess
import sys
import time

BODY = json.dumps({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
REPORT = re.compile(r"REPORT RequestId: \S+ Duration: ([0-9.]+) ms (warm|cold start)")
HANDLER = re.compile(r'"event":\s*"request".*?"latency_ms":\s*([0-9.eE+-]+)')


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main():
    label, n, cold_runs, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    colds, warm_client, warm_function, warm_handler = [], [], [], []
    for run in range(cold_runs):
        log = open(f"out/bench/{label}-serve-{run}.log", "w+")
        serve = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            line = serve.stdout.readline().strip()
            host, port = line.removeprefix("listening on http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            t0 = time.perf_counter()
            conn.request("POST", "/predict", BODY, {"content-type": "application/json"})
            resp = conn.getresponse()
            payload = resp.read()
            colds.append((time.perf_counter() - t0) * 1e3)
            if resp.status != 200:
                raise SystemExit(f"{label}: first request failed {resp.status}: {payload[:300]!r}")
            if run == 0:
                for _ in range(n):
                    t0 = time.perf_counter()
                    conn.request("POST", "/predict", BODY, {"content-type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    warm_client.append((time.perf_counter() - t0) * 1e3)
                    if r.status != 200:
                        raise SystemExit(f"{label}: warm request failed {r.status}")
        finally:
            serve.terminate()
            serve.wait(timeout=10)
        if run == 0:
            log.flush()
            log.seek(0)
            text = log.read()
            warm_function = [float(m.group(1)) for m in REPORT.finditer(text) if m.group(2) == "warm"]
            # The first request line is the cold one; the rest are warm.
            warm_handler = [float(m.group(1)) for m in HANDLER.finditer(text)][1:]
    print(json.dumps({
        "label": label,
        "cold_ms_median": statistics.median(colds),
        "cold_ms_all": [round(c, 2) for c in colds],
        "warm_client_p50_ms": pct(warm_client, 50),
        "warm_client_p99_ms": pct(warm_client, 99),
        "warm_function_p50_ms": pct(warm_function, 50),
        "warm_function_p99_ms": pct(warm_function, 99),
        "warm_handler_p50_ms": pct(warm_handler, 50),
        "warm_handler_p99_ms": pct(warm_handler, 99),
        "warm_n": len(warm_client),
    }))


main()

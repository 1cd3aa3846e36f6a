"""The Python baseline for bench/compare_container.sh: a scikit-learn inference container
written the usual way, on the SageMaker contract `bootstrap serve` implements. It loads a
joblib-pickled RandomForestClassifier from the model directory (argv[2], SageMaker's
/opt/ml/model by default), answers GET /ping 200 once the model is loaded (503 before) and
POST /invocations with a JSON flower or a batch {"instances": [...]}, or CSV rows.

The server is the standard library's ThreadingHTTPServer: lighter than the gunicorn +
Flask stack of AWS's scikit-learn container, so the comparison favours this side."""
import csv
import io
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
MODEL_DIR = sys.argv[2] if len(sys.argv) > 2 else "/opt/ml/model"
STATE = {}


def load():
    # Imported here, as a container's entry point would after binding its port.
    import joblib
    import numpy as np

    model = joblib.load(os.path.join(MODEL_DIR, "model.joblib"))
    STATE.update(model=model, np=np, classes=[str(c) for c in model.classes_])


def rows_of(body, content_type):
    if content_type.startswith("text/csv"):
        return [[float(v) for v in r] for r in csv.reader(io.StringIO(body.decode())) if r]
    doc = json.loads(body)
    flowers = doc["instances"] if "instances" in doc else [doc]
    return [[float(f[k]) for k in FEATURES] for f in flowers]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/ping":
            return self.answer(404, {"error": {"code": "not_found"}})
        if "model" not in STATE:
            return self.answer(503, {"error": {"code": "not_ready"}})
        self.answer(200, {"status": "healthy"})

    def do_POST(self):
        if self.path != "/invocations":
            return self.answer(404, {"error": {"code": "not_found"}})
        if "model" not in STATE:
            return self.answer(503, {"error": {"code": "not_ready"}})
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            rows = rows_of(body, self.headers.get("content-type") or "application/json")
        except (ValueError, KeyError, TypeError):
            return self.answer(400, {"error": {"code": "bad_request"}})
        probs = STATE["model"].predict_proba(STATE["np"].array(rows))
        classes = STATE["classes"]
        out = [
            {"species": classes[int(p.argmax())], "probabilities": dict(zip(classes, map(float, p)))}
            for p in probs
        ]
        self.answer(200, out[0] if len(out) == 1 else {"predictions": out})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=load, daemon=True).start()
    server.serve_forever()

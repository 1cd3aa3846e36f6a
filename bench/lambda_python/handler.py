"""The Python baseline for bench/compare_lambda.sh: the same inference function written
the usual way (scikit-learn RandomForestClassifier pickled with joblib, loaded from S3 at
import time with boto3), run under AWS's runtime interface client (awslambdaric)."""
import io
import json
import os
import time

import boto3
import joblib
import numpy as np

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

_s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
_obj = _s3.get_object(Bucket=os.environ["MODEL_BUCKET"], Key=os.environ["MODEL_KEY"])
MODEL = joblib.load(io.BytesIO(_obj["Body"].read()))
CLASSES = [str(c) for c in MODEL.classes_]


def handler(event, context):
    started = time.perf_counter()
    response = _handle(event)
    # Same shape as the Rust function's request log line, so the bench reads both alike.
    print(json.dumps({"event": "request", "status": response["statusCode"],
                      "latency_ms": (time.perf_counter() - started) * 1e3}), flush=True)
    return response


def _handle(event):
    try:
        body = json.loads(event.get("body") or "")
        row = np.array([[float(body[f]) for f in FEATURES]])
    except (ValueError, KeyError, TypeError):
        return {"statusCode": 400, "body": json.dumps({"error": {"code": "bad_request"}})}
    probs = MODEL.predict_proba(row)[0]
    best = int(np.argmax(probs))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(
            {
                "species": CLASSES[best],
                "probabilities": {c: float(p) for c, p in zip(CLASSES, probs)},
            }
        ),
    }

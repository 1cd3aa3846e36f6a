"""Side-by-side: batch scoring of one CSV file by the function's code (parse -> predict ->
serialize, lambda/src/bin/batch_speed.rs) and by pandas + scikit-learn doing the same:
read_csv, predict_proba with a RandomForestClassifier(n_estimators=100) trained on the
same split, and one JSON line per row (row number, species, probabilities, is_iris
omitted: scikit-learn has no such rule, so the Python side does strictly less work).

Called by bench/compare_batch.sh with the Rust timing as JSON. Single-threaded on both
sides; both start from the file's bytes in memory.
"""
import argparse
import io
import json
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--rust-json", required=True)
    p.add_argument("--sha", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    train = pd.read_csv(a.train)
    model = RandomForestClassifier(n_estimators=100, random_state=a.seed)
    model.fit(train[FEATURES].to_numpy(), train["species"].to_numpy())
    classes = list(model.classes_)
    data = open(a.file, "rb").read()

    def run():
        frame = pd.read_csv(io.BytesIO(data))
        proba = model.predict_proba(frame[FEATURES].to_numpy())
        out = pd.DataFrame({"row": np.arange(1, len(frame) + 1)})
        out["species"] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        out["probabilities"] = [dict(zip(classes, p)) for p in proba.tolist()]
        out["model_sha256"] = a.sha
        return out.to_json(orient="records", lines=True), len(frame)

    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        text, rows = run()
        times.append(time.perf_counter() - t)
    py = statistics.median(times)
    rust = json.load(open(a.rust_json))
    py_rate = rows / py
    print(f"{'batch scoring, ' + str(rows) + ' rows':<34}{'iris-lambda':>16}{'pandas+sklearn':>18}{'ratio':>8}")
    print(f"{'wall time (median)':<34}{rust['median_s']:>15.3f}s{py:>17.3f}s{py / rust['median_s']:>7.1f}x")
    print(f"{'rows/s':<34}{rust['rows_per_s'] / 1e6:>13.2f} M{py_rate / 1e6:>15.2f} M{rust['rows_per_s'] / py_rate:>7.1f}x")
    ok_speed = rust["rows_per_s"] >= 500_000
    ok_ratio = rust["rows_per_s"] / py_rate >= 5
    print(f"targets: >= 500k rows/s {'met' if ok_speed else 'MISSED'}, >= 5x pandas+sklearn {'met' if ok_ratio else 'MISSED'}")


if __name__ == "__main__":
    main()

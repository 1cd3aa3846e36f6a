"""Side-by-side: iris-model vs scikit-learn's RandomForestClassifier on the same split.

Called by bench/compare_sklearn.sh, which builds the Rust side, exports the split and
passes the Rust timings as JSON. Everything here runs single-threaded (n_jobs=None),
like the Rust side. CPU time (time.thread_time) is reported next to wall time because
the benchmark machine may be shared.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def load(path):
    rows = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
    labels = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(4,), dtype=str)
    return rows, labels


def median_time(fn, repeat):
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(walls), statistics.median(cpus)


def fresh_process(cmd, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--split", required=True)
    p.add_argument("--rust-json", required=True)
    p.add_argument("--rust-bin", required=True)
    p.add_argument("--rust-model", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    rust = json.load(open(a.rust_json))
    x_train, y_train = load(os.path.join(a.split, "train.csv"))
    x_test, y_test = load(os.path.join(a.split, "test.csv"))

    def fit():
        m = RandomForestClassifier(n_estimators=100, random_state=a.seed)
        m.fit(x_train, y_train)
        return m

    train_wall, train_cpu = median_time(fit, 5)
    model = fit()
    accuracy = float((model.predict(x_test) == y_test).mean())

    one = np.array([[6.0, 2.9, 4.8, 1.7]])
    model.predict_proba(one)
    single_wall, _ = median_time(lambda: model.predict_proba(one), 200)

    # The same resampling rule as the Rust side: row (i * 7919) % n of train.csv.
    idx = (np.arange(a.rows, dtype=np.int64) * 7919) % len(x_train)
    batch = np.ascontiguousarray(x_train[idx])
    batch_wall, batch_cpu = median_time(lambda: model.predict_proba(batch), 3)

    path = os.path.join(a.work, "sklearn-model.joblib")
    joblib.dump(model, path)
    sk_size = os.path.getsize(path)
    load_wall, _ = median_time(lambda: joblib.load(path), 20)

    sk_fresh = fresh_process(
        [sys.executable, "-c",
         "import joblib, numpy as np; m = joblib.load(%r); "
         "print(m.predict_proba(np.array([[6.0, 2.9, 4.8, 1.7]])))" % path],
        5,
    )
    rust_fresh = fresh_process(
        [a.rust_bin, "predict", "--model", a.rust_model, "6.0", "2.9", "4.8", "1.7"], 50
    )

    rows = [
        ("test accuracy", f"{rust['accuracy']:.4f}", f"{accuracy:.4f}",
         f"{(rust['accuracy'] - accuracy) * 100:+.1f} points"),
        ("train 100 trees (wall)", f"{rust['train_s'] * 1e3:.2f} ms", f"{train_wall * 1e3:.1f} ms",
         f"{train_wall / rust['train_s']:.0f}x faster"),
        ("single predict (median)", f"{rust['single_s'] * 1e6:.2f} us", f"{single_wall * 1e3:.2f} ms",
         f"{single_wall / rust['single_s']:.0f}x faster"),
        (f"batch {a.rows} rows (wall)", f"{a.rows / rust['batch_s'] / 1e6:.2f} M rows/s",
         f"{a.rows / batch_wall / 1e6:.2f} M rows/s", f"{batch_wall / rust['batch_s']:.2f}x"),
        (f"batch {a.rows} rows (CPU)", f"{a.rows / rust['batch_cpu_s'] / 1e6:.2f} M rows/s",
         f"{a.rows / batch_cpu / 1e6:.2f} M rows/s", f"{batch_cpu / rust['batch_cpu_s']:.2f}x"),
        ("artifact size", f"{rust['model_bytes'] / 1024:.1f} KiB (model.bin)",
         f"{sk_size / 1024:.1f} KiB (joblib)", f"{sk_size / rust['model_bytes']:.1f}x smaller"),
        ("load model in process", f"{rust['load_s'] * 1e6:.0f} us", f"{load_wall * 1e3:.2f} ms",
         f"{load_wall / rust['load_s']:.0f}x faster"),
        ("fresh process load+predict", f"{rust_fresh * 1e3:.2f} ms", f"{sk_fresh * 1e3:.0f} ms",
         f"{sk_fresh / rust_fresh:.0f}x faster"),
    ]
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    print(f"{'':30} {'iris-model':>24} {'scikit-learn':>24}  ratio")
    for name, r, s, ratio in rows:
        print(f"{name:30} {r:>24} {s:>24}  {ratio}")


if __name__ == "__main__":
    main()

"""Trains the Python baseline's model on the same built-in Iris CSV as iris-model
(100 trees, seed 42) and writes it with joblib."""
import csv
import sys

import joblib
from sklearn.ensemble import RandomForestClassifier

csv_path, out_path = sys.argv[1], sys.argv[2]
with open(csv_path, newline="") as f:
    rows = list(csv.DictReader(f))
X = [[float(r[k]) for k in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for r in rows]
y = [r["species"] for r in rows]
model = RandomForestClassifier(n_estimators=100, random_state=42).fit(X, y)
joblib.dump(model, out_path)

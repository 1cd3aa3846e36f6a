"""Side-by-side, for bench/compare_container.sh: the image `irisctl image build` writes
(the function's static binary started as `bootstrap serve`) and a Python scikit-learn
server on the same SageMaker contract (bench/container_python/serve.py).

Image size: what each image holds beyond a base OS. Ours is the whole image (one layer,
no base). Python's is measured on this machine: the interpreter and its standard library
plus the site-packages the server imports (scikit-learn, numpy, scipy, joblib,
threadpoolctl), uncompressed and as one gzip-compressed tar (the form of an OCI layer);
a real image adds its base (e.g. a Debian slim layer) on top of that.

Cold start: process start to the first GET /ping answered 200 (model loaded; ours also
verifies its sha256), polling every millisecond, runs alternating between the two sides;
then one POST /invocations, to check that both answer the same flower alike."""
import argparse
import gzip
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOWER = {"sepal_length": 6.1, "sepal_width": 2.8, "petal_length": 4.7, "petal_width": 1.2}
PACKAGES = ["sklearn", "numpy", "scipy", "joblib", "threadpoolctl"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blob(layout, digest):
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def our_image(layout, work):
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(layout, index["manifests"][0]["digest"]).read_text())
    config = json.loads(blob(layout, manifest["config"]["digest"]).read_text())
    layers = manifest["layers"]
    compressed = sum(l["size"] for l in layers) + manifest["config"]["size"]
    uncompressed = 0
    entry = config["config"]["Entrypoint"][0]
    binary = work / "bootstrap"
    for layer in layers:
        with tarfile.open(fileobj=io.BytesIO(blob(layout, layer["digest"]).read_bytes())) as t:
            for m in t.getmembers():
                uncompressed += m.size
                if m.name.lstrip("./") == entry.lstrip("/"):
                    binary.write_bytes(t.extractfile(m).read())
    if not binary.exists():
        raise SystemExit(f"the image has no {entry} (its entrypoint)")
    binary.chmod(0o755)
    return binary, compressed, uncompressed


def python_image():
    import importlib.util

    roots = [Path(sysconfig.get_paths()["stdlib"])]
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        roots.append(Path(spec.origin).parent)
    exe = Path(os.path.realpath(sys.executable))
    files = [exe]
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlib = sysconfig.get_config_var("LDLIBRARY")
    if libdir and ldlib and ".so" in ldlib and (Path(libdir) / ldlib).exists():
        files.append(Path(os.path.realpath(Path(libdir) / ldlib)))
    for root in roots:
        for dirpath, _, names in os.walk(root):
            files.extend(Path(dirpath) / n for n in names)
    # Package data that lives beside the package (numpy.libs, scipy.libs: bundled BLAS).
    site = Path(sysconfig.get_paths()["purelib"])
    for extra in site.glob("*.libs"):
        for dirpath, _, names in os.walk(extra):
            files.extend(Path(dirpath) / n for n in names)
    files = [f for f in files if f.is_file() and not f.is_symlink()]
    uncompressed = sum(f.stat().st_size for f in files)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as t:
            for f in files:
                t.add(str(f), recursive=False)
    return len(buf.getvalue()), uncompressed


def cold_start(cmd, port, env=None):
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                    if r.status == 200:
                        healthy = time.perf_counter() - started
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited with {proc.returncode} before /ping answered")
            if time.perf_counter() - started > 60:
                raise SystemExit(f"{cmd[0]}: /ping not healthy after 60 s")
            time.sleep(0.001)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(FLOWER).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            species = json.loads(r.read())["species"]
        return healthy * 1e3, species
    finally:
        proc.terminate()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--sklearn-model", type=Path, required=True)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--work", type=Path, required=True)
    a = p.parse_args()

    binary, ours_gz, ours_raw = our_image(a.image, a.work)
    py_gz, py_raw = python_image()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "AWS_"))}
    ours, theirs, answers = [], [], set()
    for _ in range(a.runs):
        port = free_port()
        ms, species = cold_start([str(binary), "serve", "--port", str(port), "--model", str(a.model)], port, env)
        ours.append(ms)
        answers.add(("ours", species))
        port = free_port()
        ms, species = cold_start(
            [sys.executable, str(HERE / "container_python" / "serve.py"), str(port), str(a.sklearn_model)], port, env
        )
        theirs.append(ms)
        answers.add(("python", species))

    def q(xs, f):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    mb = lambda n: f"{n / 1e6:.1f} MB"
    print(f"{'':40} {'bootstrap serve':>18} {'Python + scikit-learn':>22} {'ratio':>7}")
    print(f"{'image, compressed (gzip layers)':40} {mb(ours_gz):>18} {mb(py_gz):>22} {py_gz / ours_gz:6.1f}x")
    print(f"{'image, uncompressed':40} {mb(ours_raw):>18} {mb(py_raw):>22} {py_raw / ours_raw:6.1f}x")
    for label, f in (("cold start to /ping 200, p50", 0.5), ("cold start to /ping 200, p90", 0.9)):
        o, t = q(ours, f), q(theirs, f)
        print(f"{label:40} {o:15.1f} ms {t:19.1f} ms {t / o:6.1f}x")
    print(f"runs: {a.runs} each, alternating; load average {os.getloadavg()[0]:.2f}; answers {sorted(answers)}")
    print(f"target: cold start < 50 ms with the model on disk: {'met' if statistics.median(ours) < 50 else 'MISSED'}")


if __name__ == "__main__":
    main()

# Sourced by the bench scripts that compare with scikit-learn: the git-ignored venv
# .venv-bench/ with the exact pins of bench/requirements.txt, created on first use with
# $PYTHON (default python3). Run from the repository root.
bench_venv() {
  if [ ! -x .venv-bench/bin/python ]; then
    echo "== creating .venv-bench (pins in bench/requirements.txt)" >&2
    "${PYTHON:-python3}" -m venv .venv-bench
  fi
  .venv-bench/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
}

"""The irisctl lines of the CI workflows, checked against the real binary.

Usage: check-workflows.py IRISCTL FILE...  (run by scripts/check-workflows)

FILE is a GitHub Actions workflow or a CodeBuild buildspec (pipeline/buildspec-*.yml).
Every line of a step's `run:` (or a buildspec command) that starts with `irisctl`
(continuations with a trailing backslash joined) is cut at the first shell operator (`>`, `|`, `&&`, `;`), its GitHub
expressions (`${{ ... }}`) and shell variables replaced by the sample values below, and
then:
  - a command listed in docs/ci.md under "## Not yet available": the step must be
    switched off (`if: env.NOT_YET_AVAILABLE != 'skip'`; in a buildspec, the line commented out as
    `# not yet available (docs/ci.md): irisctl ...`), and `irisctl __parse-only WORDS --help` must still fail
    (once the command exists, this check fails: switch the step on, drop it from the
    list);
  - any other: the step must be on, and `irisctl __parse-only ARGS` must exit 0 (clap's
    own parser: a renamed or removed flag fails here);
  - render, validate and config show also run for real (offline, a second at most), in a
    scratch directory, with the repository's environments/.
An expression or variable with no sample value fails the check: add one below.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

# Sample values for the GitHub expressions the workflows use in env: blocks.
EXPRESSIONS = {
    "github.event.pull_request.number": "1",
    "github.workspace": ".",
    "vars.IRISCTL_REGION || 'us-east-1'": "us-east-1",
}
# Sample values for shell variables on irisctl lines (loop variables, env: entries whose
# value is itself an expression are resolved through EXPRESSIONS first).
SHELL_VARS = {
    "env_name": "staging",
    "GITHUB_WORKSPACE": ".",
    # CodeBuild projects of templates/pipeline.yaml.j2 set it to staging or prod.
    "IRISCTL_ENV": "staging",
}
BUILDSPEC_OFF = re.compile(r"^\s*# not yet available \(docs/ci\.md\): (irisctl .*)$")
BUILDSPEC_ON = re.compile(r"^\s*(?:- )?(irisctl .*)$")
# Offline and quick: these run for real.
RUN_FOR_REAL = [("render",), ("validate",), ("config", "show")]
OPERATORS = {">", ">>", "|", "||", "&&", ";", "&", "<", "2>", "2>&1"}


def fail(message):
    print(f"check-workflows: {message}", file=sys.stderr)
    sys.exit(1)


def pending_commands(path="docs/ci.md"):
    """The commands listed under '## Not yet available' in docs/ci.md, as word tuples."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^## Not yet available\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        fail(f"{path} has no '## Not yet available' section")
    found = re.findall(r"^- `irisctl ([a-z][a-z -]*?)`", match.group(1), re.M)
    return [tuple(words.split()) for words in found]


def expand_expressions(text, where):
    def one(m):
        expr = m.group(1).strip()
        if expr not in EXPRESSIONS:
            fail(f"{where}: no sample value for the expression `${{{{ {expr} }}}}`; add it to EXPRESSIONS in scripts/check-workflows.py")
        return EXPRESSIONS[expr]

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def buildspec_lines(path):
    """(where, line, off, variables) for each irisctl line of a CodeBuild buildspec."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    yaml.safe_load(text)  # must at least be YAML
    for number, line in enumerate(text.replace("\\\n", " ").splitlines(), start=1):
        where = f"{path}:{number}"
        off = BUILDSPEC_OFF.match(line)
        on = BUILDSPEC_ON.match(line)
        if off:
            yield where, off.group(1).strip(), True, dict(SHELL_VARS)
        elif on and not line.lstrip().startswith("#"):
            yield where, on.group(1).strip(), False, dict(SHELL_VARS)


def irisctl_lines(workflow_path):
    """(where, words, step is off, variables) for each irisctl line of the workflow."""
    if os.path.basename(workflow_path).startswith("buildspec"):
        yield from buildspec_lines(workflow_path)
        return
    with open(workflow_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    top_env = doc.get("env") or {}
    for job_id, job in (doc.get("jobs") or {}).items():
        job_env = job.get("env") or {}
        for index, step in enumerate(job.get("steps") or []):
            run = step.get("run")
            if not run:
                continue
            where = f"{workflow_path} job {job_id} step {index + 1} ({step.get('name', 'unnamed')})"
            variables = dict(SHELL_VARS)
            for scope in (top_env, job_env, step.get("env") or {}):
                for key, value in scope.items():
                    variables[key] = expand_expressions(str(value), where)
            off = "env.NOT_YET_AVAILABLE != 'skip'" in str(step.get("if", ""))
            for line in run.replace("\\\n", " ").splitlines():
                stripped = line.strip()
                if stripped == "irisctl" or stripped.startswith("irisctl "):
                    yield where, stripped, off, variables


def words_of(line, variables, where):
    def var(m):
        name = m.group(1) or m.group(2)
        if name not in variables:
            fail(f"{where}: no sample value for `${name}` in `{line}`; add it to SHELL_VARS in scripts/check-workflows.py")
        return variables[name]

    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for token in lexer:
        if token in OPERATORS or set(token) <= set("<>|&;"):
            break
        words.append(re.sub(r"\$\{(\w+)\}|\$(\w+)", var, token))
    return words[1:]  # without "irisctl"


def main():
    if len(sys.argv) < 3:
        fail("usage: check-workflows.py IRISCTL WORKFLOW.yml...")
    irisctl = os.path.abspath(sys.argv[1])
    pending = pending_commands()
    seen_pending = set()
    envs_dir = os.path.abspath("environments")
    checked = ran = off_count = 0
    with tempfile.TemporaryDirectory() as scratch:
        for path in sys.argv[2:]:
            for where, line, off, variables in irisctl_lines(path):
                args = words_of(line, variables, where)
                listed = next((p for p in pending if tuple(args[: len(p)]) == p), None)
                if listed:
                    seen_pending.add(listed)
                    if not off:
                        fail(f"{where}: `irisctl {' '.join(listed)}` is not on main yet (docs/ci.md, Not yet available) but its step is on; add `if: env.NOT_YET_AVAILABLE != 'skip'` (a buildspec: comment the line out as `# not yet available (docs/ci.md): ...`)")
                    probe = subprocess.run([irisctl, "__parse-only", *listed, "--help"], capture_output=True, text=True)
                    if probe.returncode == 0:
                        fail(f"{where}: `irisctl {' '.join(listed)}` exists now: switch its steps on (remove their `if: env.NOT_YET_AVAILABLE ...`) and drop it from docs/ci.md's Not yet available")
                    off_count += 1
                    continue
                if off:
                    fail(f"{where}: the step running `{line}` is switched off, but its command is not listed under docs/ci.md's Not yet available")
                result = subprocess.run([irisctl, "__parse-only", *args], capture_output=True, text=True)
                if result.returncode != 0:
                    fail(f"{where}: `{line}` does not parse:\n{result.stderr.strip()}")
                checked += 1
                if any(tuple(args[: len(c)]) == c for c in RUN_FOR_REAL):
                    env = dict(os.environ, IRISCTL_ENVS_DIR=envs_dir)
                    real = subprocess.run([irisctl, *args], cwd=scratch, env=env, capture_output=True, text=True)
                    if real.returncode != 0:
                        fail(f"{where}: `{line}` (as `irisctl {shlex.join(args)}`) failed:\n{real.stderr.strip()}")
                    ran += 1
    stale = [p for p in pending if p not in seen_pending]
    if stale:
        fail("docs/ci.md lists under Not yet available commands no workflow calls: " + ", ".join("irisctl " + " ".join(p) for p in stale))
    print(f"check-workflows: {checked} irisctl lines parse ({ran} also ran), {off_count} switched off until their command lands")


if __name__ == "__main__":
    main()

"""Start LocalStack in-process, with Lambda functions run as local processes (no Docker).

Run by scripts/emulator with the environment it sets (FILESYSTEM_ROOT, GATEWAY_LISTEN,
LAMBDA_RUNTIME_EXECUTOR, ...). LocalStack 2026.3.0's default Lambda executor needs Docker:
it pulls a runtime image and downloads its Go runtime-init from GitHub, and neither is
reachable here. So this registers the `local-process` executor (local_process_executor.py,
with the runtime-init in local_runtime_init.py) in LocalStack's plugin namespace for
executors, `localstack.lambda.runtime_executor`, the same way an installed package would:
through an entry point. The entry point lives in a small generated distribution folder
under $HOME (the emulator's state folder) that is put on sys.path, so the venv is not
modified. LAMBDA_RUNTIME_EXECUTOR then selects it.

It also gives CloudFormation's AWS::Lambda::Alias an update handler
(lambda_alias_update.py): LocalStack's raises NotImplementedError, so no release or rollout
step could move the live alias.

The executor and the handler reach into LocalStack internals, so this refuses any version but the one it
was written and tested against.
"""

import os
import sys
from importlib.metadata import version
from pathlib import Path

PATCHED_VERSION = "2026.3.0"
HERE = Path(__file__).resolve().parent
EXECUTOR_NAME = "local-process"
NAMESPACE = "localstack.lambda.runtime_executor"
DIST = "irisctl_emulator_plugins-1.0.dist-info"


def refuse_other_versions() -> None:
    installed = version("localstack-core")
    if installed != PATCHED_VERSION:
        sys.exit(
            f"localstack_launch.py and its Lambda executor are written against localstack-core "
            f"{PATCHED_VERSION} internals, but {installed} is installed. Reinstall with "
            f"'rm -rf {sys.prefix} && scripts/emulator start', or re-check "
            f"scripts/emulator.d/local_process_executor.py against the new version."
        )


def write_if_changed(path: Path, text: str) -> None:
    # Unchanged files keep their mtime, so plux's entry point cache stays valid.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def register_executor() -> None:
    """An entry point `local-process` in LocalStack's executor namespace, found by plux
    (LocalStack's plugin loader) through importlib.metadata on sys.path."""
    plugins = Path(os.environ.get("HOME") or HERE) / "plugins"
    dist = plugins / DIST
    dist.mkdir(parents=True, exist_ok=True)
    write_if_changed(
        dist / "METADATA",
        "Metadata-Version: 2.1\nName: irisctl-emulator-plugins\nVersion: 1.0\n"
        "Summary: irisctl's LocalStack Lambda executor (scripts/emulator.d), generated\n",
    )
    write_if_changed(
        dist / "entry_points.txt",
        f"[{NAMESPACE}]\n{EXECUTOR_NAME} = local_process_executor:LocalProcessRuntimeExecutorPlugin\n",
    )
    # No __pycache__ next to the executor in the work tree (the venv is compiled already).
    sys.dont_write_bytecode = True
    for entry in (str(HERE), str(plugins)):
        if entry not in sys.path:
            sys.path.append(entry)
    os.environ.setdefault("LAMBDA_RUNTIME_EXECUTOR", EXECUTOR_NAME)
    if os.environ["LAMBDA_RUNTIME_EXECUTOR"] != EXECUTOR_NAME:
        sys.exit(
            f"LAMBDA_RUNTIME_EXECUTOR is {os.environ['LAMBDA_RUNTIME_EXECUTOR']!r}; this "
            f"emulator has no Docker and runs Lambda only with {EXECUTOR_NAME!r}"
        )

    from localstack.services.lambda_.invocation.runtime_executor import EXECUTOR_PLUGIN_MANAGER

    # LocalStack would fall back to Docker with a warning; fail at start instead.
    if not EXECUTOR_PLUGIN_MANAGER.exists(EXECUTOR_NAME):
        sys.exit(f"the {EXECUTOR_NAME!r} Lambda executor is not visible to LocalStack's plugin loader")
    EXECUTOR_PLUGIN_MANAGER.load(EXECUTOR_NAME).load()


def main() -> None:
    refuse_other_versions()
    register_executor()
    # On sys.path since register_executor(): CloudFormation updates of the live alias.
    import lambda_alias_update

    lambda_alias_update.install()

    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()

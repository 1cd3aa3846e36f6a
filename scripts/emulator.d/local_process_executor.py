"""LocalStack runtime executor `local-process`: each Lambda execution environment is a local
process instead of a Docker container.

LocalStack picks the executor named by its LAMBDA_RUNTIME_EXECUTOR setting from the plugin
namespace `localstack.lambda.runtime_executor`; localstack_launch.py registers this one
there. Everything above the executor (the invoke API, async retries and failure
destinations, API Gateway's proxy integration, event source mappings, keep-alive and
scaling of environments, log shipping) stays LocalStack's own code. The executor
only replaces "start a container with the code and LocalStack's init in it":

- prepare_version: LocalStack unzips the function's code (from its internal S3 store) to
  its temporary folder, as for Docker; the code runs from there, read in place;
- start: a listening socket on 127.0.0.1 (a free port), then local_runtime_init.py with
  the environment LocalStack built for the container; the init serves `/invoke` and the
  Runtime API on that socket, starts `bootstrap` and reports ready or error to LocalStack's
  executor endpoint (ExecutorEndpoint, the same object the Docker executor uses);
- invoke: ExecutorEndpoint.invoke, exactly as the Docker executor;
- stop (LocalStack's keep-alive expiry, function update or delete, shutdown): SIGTERM to
  the init (which stops the bootstrap), SIGKILL after a grace period; its folder removed.

Only `provided.*` runtimes with zip code run (the bootstrap must be a Linux executable for
this machine); other runtimes fail at start with a message saying so. Written against
localstack-core 2026.3.0 and refusing any other version.
"""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import InvalidStateError
from importlib.metadata import version
from pathlib import Path

from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

SUPPORTED_VERSION = "2026.3.0"
PLUGIN_NAME = "local-process"
INIT_SCRIPT = Path(__file__).resolve().with_name("local_runtime_init.py")
# Seconds the init gets to stop its bootstrap before it is killed.
STOP_GRACE_S = 5.0

LOG = logging.getLogger(__name__)


def check_version() -> None:
    installed = version("localstack-core")
    if installed != SUPPORTED_VERSION:
        raise RuntimeError(
            f"local_process_executor.py is written against localstack-core {SUPPORTED_VERSION} "
            f"internals (RuntimeExecutor, ExecutorEndpoint, the init protocol), but {installed} "
            f"is installed. Reinstall the pinned version (scripts/emulator install) or re-check "
            f"this executor against the new one."
        )


class LocalProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address="127.0.0.1")
        self.process: subprocess.Popen | None = None
        self.work_dir: Path | None = None

    def _check_runnable(self) -> Path:
        cfg = self.function_version.config
        if cfg.package_type != PackageType.Zip or not cfg.code:
            raise LambdaRuntimeException(
                f"{self.function_version.qualified_arn}: the local-process executor runs zip "
                f"packages only (package type {cfg.package_type})"
            )
        if not (cfg.runtime or "").startswith("provided"):
            raise LambdaRuntimeException(
                f"{self.function_version.qualified_arn}: the local-process executor runs only "
                f"provided.* runtimes (a bootstrap executable), not {cfg.runtime}"
            )
        if cfg.layers:
            raise LambdaRuntimeException(
                f"{self.function_version.qualified_arn}: layers are not supported by the "
                f"local-process executor"
            )
        code_dir = Path(cfg.code.get_unzipped_code_location())
        bootstrap = code_dir / "bootstrap"
        if not os.access(bootstrap, os.X_OK):
            raise LambdaRuntimeException(
                f"{self.function_version.qualified_arn}: no executable bootstrap at {bootstrap}"
            )
        return code_dir

    def start(self, env_vars: dict[str, str]) -> None:
        code_dir = self._check_runnable()
        self.executor_endpoint.start()
        root = Path(tempfile.gettempdir()) / "lambda-local-process"
        root.mkdir(parents=True, exist_ok=True)
        self.work_dir = Path(tempfile.mkdtemp(prefix=f"{self.id}-", dir=root))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            self.executor_endpoint.container_port = listener.getsockname()[1]
            init_env = {k: str(v) for k, v in env_vars.items()}
            init_env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
            log = open(self.work_dir / "init.log", "ab")  # noqa: SIM115
            try:
                # -I: the function's PYTHON* variables never change how the init runs.
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        str(INIT_SCRIPT),
                        "--listen-fd",
                        str(listener.fileno()),
                        "--code-dir",
                        str(code_dir),
                        "--work-dir",
                        str(self.work_dir),
                    ],
                    env=init_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    close_fds=True,
                )
            finally:
                log.close()
        finally:
            listener.close()
        LOG.debug(
            "local-process executor %s: init pid %s on 127.0.0.1:%s for %s",
            self.id,
            self.process.pid,
            self.executor_endpoint.container_port,
            self.function_version.qualified_arn,
        )
        threading.Thread(
            target=self._fail_startup_if_init_exits, args=(self.process,), daemon=True
        ).start()
        self.executor_endpoint.wait_for_startup()

    def _fail_startup_if_init_exits(self, process: subprocess.Popen) -> None:
        """An init that dies before reporting (a Python error, a kill) fails the start now,
        not after LocalStack's startup timeout."""
        code = process.wait()
        future = self.executor_endpoint.startup_future
        if future is not None and not future.done():
            message = f"local_runtime_init.py exited with {code} before the environment was ready"
            payload = json.dumps({"errorType": "Runtime.InitError", "errorMessage": message})
            try:
                future.set_exception(StatusErrorException(message, payload=payload.encode()))
            except InvalidStateError:
                pass  # reported ready or error in the meantime

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # as the Docker executor: a half-started endpoint is fine
            LOG.debug("local-process executor %s: endpoint shutdown: %s", self.id, e)
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]):
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        if self.work_dir is None:
            return "Environment was not started"
        parts = []
        for name in ("init.log", "output.log"):
            try:
                parts.append((self.work_dir / name).read_text(errors="replace"))
            except OSError:
                pass
        return "".join(parts)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # LocalStack deletes the unzipped code itself when the version goes

    @classmethod
    def validate_environment(cls) -> bool:
        return True


class LocalProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = PLUGIN_NAME

    def load(self, *args, **kwargs):
        check_version()
        return LocalProcessRuntimeExecutor

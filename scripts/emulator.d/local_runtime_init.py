"""The runtime-init of one Lambda execution environment run as a local process.

On AWS (and in LocalStack's Docker executor) a small init program sits between Lambda and
the function's `bootstrap`: it serves the Lambda Runtime API the bootstrap polls, and talks
to the Lambda service. LocalStack's own init is a Go binary downloaded at run time and run
inside a container; this file does the same job with the Python standard library, so the
emulator needs neither Docker nor a download. It is started by local_process_executor.py,
one process per execution environment, and speaks LocalStack's protocol exactly as the Go
init does:

- LocalStack -> init: `POST /invoke` with {invoke-id, invoked-function-arn, payload,
  trace-id}; answered 200 at once, the result follows as callbacks;
- init -> LocalStack (under LOCALSTACK_RUNTIME_ENDPOINT): `status/<id>/ready` once the
  bootstrap first polls for work, `status/<id>/error` if it fails or exits before that,
  then per invocation `invocations/<req>/logs`, followed by `.../response` or `.../error`;
- bootstrap -> init: the Runtime API 2018-06-01 (`invocation/next`, `.../response`,
  `.../error`, `init/error`) on the same 127.0.0.1 socket, passed in as a file descriptor.

What it enforces like Lambda: the function timeout (the invocation fails with LocalStack's
"Task timed out" message and the bootstrap is killed and restarted for the next one), the
response size limit, a bootstrap that exits mid-invocation (Runtime.ExitError). What it does
not: memory limits, CPU share, a read-only code directory, a separate user.
"""

import argparse
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNTIME_API = "/2018-06-01/runtime"
# LocalStack's default for LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES (6 MiB + 100).
DEFAULT_MAX_PAYLOAD = 6 * 1024 * 1024 + 100
# Variables meant for the init only; the bootstrap does not see them (as LocalStack's init).
INIT_ONLY_VARS = (
    "LOCALSTACK_RUNTIME_ENDPOINT",
    "LOCALSTACK_RUNTIME_ID",
    "LOCALSTACK_INTEROP_PORT",
    "LOCALSTACK_RUNTIME_TRACING_PORT",
    "LOCALSTACK_USER",
    "LOCALSTACK_CODE_ARCHIVES",
    "LOCALSTACK_HOT_RELOADING_PATHS",
    "LOCALSTACK_ENABLE_DNS_SERVER",
    "LOCALSTACK_ENABLE_XRAY_TELEMETRY",
    "LOCALSTACK_INIT_LOG_LEVEL",
    "LOCALSTACK_POST_INVOKE_WAIT_MS",
    "LOCALSTACK_CHMOD_PATHS",
    "LOCALSTACK_MAX_PAYLOAD_SIZE",
    "HOME",
    "HOSTNAME",
)
# How often the init checks that LocalStack (its parent) still runs.
PARENT_CHECK_S = 1.0
# How long a stopped bootstrap gets between SIGTERM and SIGKILL.
STOP_GRACE_S = 2.0


def say(message: str) -> None:
    print(f"local_runtime_init: {message}", file=sys.stderr, flush=True)


def post(url: str, body: bytes) -> None:
    """POST to LocalStack's executor endpoint: plain http.client on a fresh connection, no
    proxy (urllib's opener costs ~20 ms a call here, and every invocation makes two)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        connection.getresponse().read()
    except OSError as err:
        say(f"POST {url} failed: {err}")
    finally:
        connection.close()


class Invocation:
    def __init__(self, request: dict, timeout_s: float):
        self.id = request.get("invoke-id") or ""
        self.arn = request.get("invoked-function-arn") or ""
        self.payload = (request.get("payload") or "").encode()
        self.trace_id = request.get("trace-id") or ""
        self.received = time.monotonic()
        self.deadline_ms = int((time.time() + timeout_s) * 1000)
        self.delivered = False
        self.done = False
        self.timer: threading.Timer | None = None


class LogCollector:
    """Everything the bootstrap prints (stdout and stderr, one pipe) plus the platform lines,
    kept until the next invocation ends (as LocalStack's init: init output goes with the
    first invocation) and appended to the environment's log file."""

    def __init__(self, log_path: str):
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.file = open(log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.pipe: int | None = None
        self.partial = b""

    def line(self, text: str) -> None:
        with self.lock:
            self._add(text + "\n")

    def _add(self, text: str) -> None:
        self.pending.append(text)
        self.file.write(text)
        self.file.flush()

    def attach(self, fd: int) -> None:
        """Read a new bootstrap's output from now on; what the previous one left is kept."""
        os.set_blocking(fd, False)
        with self.lock:
            if self._read_available() and self.pipe is not None:
                os.close(self.pipe)
            self.pipe = fd
            self.partial = b""

    def _read_available(self) -> bool:
        """Read what the pipe holds now; False once it is closed. Call with the lock held."""
        if self.pipe is None:
            return False
        while True:
            try:
                chunk = os.read(self.pipe, 65536)
            except BlockingIOError:
                return True
            except OSError:
                chunk = b""
            if not chunk:
                if self.partial:
                    self._add(self.partial.decode(errors="replace") + "\n")
                os.close(self.pipe)
                self.pipe, self.partial = None, b""
                return False
            data = self.partial + chunk
            complete, _, self.partial = data.rpartition(b"\n")
            if complete:
                self._add(complete.decode(errors="replace") + "\n")

    def pump(self, fd: int) -> None:
        """Reader thread body: copies the pipe until the bootstrap closes it."""
        while True:
            try:
                select.select([fd], [], [], 0.5)
            except (OSError, ValueError):
                return
            with self.lock:
                if self.pipe != fd or not self._read_available():
                    return

    def take(self) -> str:
        """The lines since the last take, including all the bootstrap wrote so far: whatever
        it printed before posting its response is in the pipe, and is read here."""
        with self.lock:
            self._read_available()
            if self.partial:
                self._add(self.partial.decode(errors="replace") + "\n")
                self.partial = b""
            text, self.pending = "".join(self.pending), []
            return text


class Environment:
    def __init__(self, args: argparse.Namespace):
        self.endpoint = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"].rstrip("/")
        self.runtime_id = os.environ["LOCALSTACK_RUNTIME_ID"]
        self.timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
        self.memory_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or "128"
        self.version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "$LATEST"
        self.max_payload = int(os.environ.get("LOCALSTACK_MAX_PAYLOAD_SIZE") or DEFAULT_MAX_PAYLOAD)
        self.code_dir = args.code_dir
        self.work_dir = args.work_dir
        self.port = args.port
        self.logs = LogCollector(os.path.join(args.work_dir, "output.log"))
        self.cond = threading.Condition()
        self.queue: list[Invocation] = []
        self.in_flight: dict[str, Invocation] = {}
        self.process: subprocess.Popen | None = None
        self.process_polled = False  # the current process asked for work at least once
        self.init_error: bytes | None = None  # posted to /init/error by the current process
        self.ready_sent = False  # LocalStack was told the environment is ready (or failed)
        self.stopping = False

    # ------------------------------------------------------------ the bootstrap process

    def runtime_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in INIT_ONLY_VARS}
        tmp = os.path.join(self.work_dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        env.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.port}",
            LAMBDA_TASK_ROOT=self.code_dir,
            TMPDIR=tmp,
        )
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.setdefault("LANG", "en_US.UTF-8")
        env.setdefault("LD_LIBRARY_PATH", f"{self.code_dir}:{self.code_dir}/lib")
        return env

    def start_process(self) -> None:
        """Start the bootstrap (with the condition held). It gets its own process group, so
        stopping it also stops anything it started."""
        bootstrap = os.path.join(self.code_dir, "bootstrap")
        self.process_polled = False
        self.init_error = None
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(
                [bootstrap],
                cwd=self.code_dir,
                env=self.runtime_env(),
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=write_end,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as err:
            os.close(read_end)
            os.close(write_end)
            self.process = None
            self.logs.line(f"local_runtime_init: cannot start {bootstrap}: {err}")
            self.on_exit(None, f"Runtime.InvalidEntrypoint: cannot start {bootstrap}: {err}")
            return
        os.close(write_end)
        self.process = process
        self.logs.attach(read_end)
        threading.Thread(target=self.logs.pump, args=(read_end,), daemon=True).start()
        threading.Thread(target=self.watch, args=(process,), daemon=True).start()

    def kill_process(self) -> None:
        """Stop the current bootstrap and its group (with the condition held)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def watch(self, process: subprocess.Popen) -> None:
        code = process.wait()
        with self.cond:
            if self.process is not process:
                return  # killed on purpose (timeout, stop): already handled
            self.process = None
            self.on_exit(code, None)

    def on_exit(self, code: int | None, reason: str | None) -> None:
        """The bootstrap is gone on its own (condition held): fail what it was doing."""
        if reason is None:
            status = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            reason = f"Runtime exited with error: {status}"
        if not self.process_polled and self.init_error is not None:
            body = self.init_error
        else:
            body = None
        victims = list(self.in_flight.values()) + self.queue
        self.in_flight.clear()
        self.queue.clear()
        if not self.ready_sent:
            self.ready_sent = True
            payload = body or json.dumps(
                {"errorType": "Runtime.ExitError", "errorMessage": f"Error: {reason}"}
            ).encode()
            threading.Thread(
                target=post,
                args=(f"{self.endpoint}/status/{self.runtime_id}/error", payload),
                daemon=True,
            ).start()
        for invocation in victims:
            payload = body or json.dumps(
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {invocation.id} Error: {reason}",
                }
            ).encode()
            self.finish(invocation, payload, is_error=True)
        self.cond.notify_all()

    # ------------------------------------------------------------ invocations

    def invoke(self, request: dict) -> None:
        invocation = Invocation(request, self.timeout_s)
        self.logs.line(f"START RequestId: {invocation.id} Version: {self.version}")
        with self.cond:
            self.queue.append(invocation)
            if self.process is None and not self.stopping:
                # Restarted after a timeout or a crash: the invocation includes the new init.
                self.start_process()
            self.cond.notify_all()
        invocation.timer = threading.Timer(self.timeout_s, self.timed_out, args=(invocation,))
        invocation.timer.daemon = True
        invocation.timer.start()

    def next_invocation(self) -> Invocation | None:
        """Long poll of `/invocation/next`: the first call of the first process tells
        LocalStack the environment is ready."""
        with self.cond:
            self.process_polled = True
            if not self.ready_sent:
                self.ready_sent = True
                threading.Thread(
                    target=post,
                    args=(f"{self.endpoint}/status/{self.runtime_id}/ready", b"{}"),
                    daemon=True,
                ).start()
            while not self.queue:
                if self.stopping:
                    return None
                self.cond.wait()
            invocation = self.queue.pop(0)
            invocation.delivered = True
            self.in_flight[invocation.id] = invocation
            return invocation

    def complete(self, request_id: str, body: bytes, is_error: bool) -> int:
        """The bootstrap's `/response` or `/error`; returns the HTTP status to answer."""
        with self.cond:
            invocation = self.in_flight.pop(request_id, None)
            if invocation is None:
                return 400
            if not is_error and len(body) > self.max_payload:
                body = json.dumps(
                    {
                        "errorMessage": f"Response payload size exceeded maximum allowed "
                        f"payload size ({self.max_payload} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    }
                ).encode()
                self.finish(invocation, body, is_error=True)
                return 413
            self.finish(invocation, body, is_error)
            return 202

    def timed_out(self, invocation: Invocation) -> None:
        with self.cond:
            if invocation.done:
                return
            self.in_flight.pop(invocation.id, None)
            if invocation in self.queue:
                self.queue.remove(invocation)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps(
                {
                    "errorMessage": f"{stamp} {invocation.id} Task timed out after "
                    f"{self.timeout_s:.2f} seconds"
                }
            ).encode()
            self.finish(invocation, body, is_error=True)
            # As Lambda: the sandbox is reset; the next invocation starts a new bootstrap.
            self.kill_process()

    def finish(self, invocation: Invocation, body: bytes, is_error: bool) -> None:
        """Logs, then the result, to LocalStack (condition held; the posts run on a thread
        so the bootstrap's HTTP call is answered first)."""
        if invocation.done:
            return
        invocation.done = True
        if invocation.timer is not None:
            invocation.timer.cancel()
        duration_ms = (time.monotonic() - invocation.received) * 1000
        self.logs.line(f"END RequestId: {invocation.id}")
        self.logs.line(
            f"REPORT RequestId: {invocation.id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {self.memory_mb} MB\t"
            f"Max Memory Used: {self.max_memory_mb()} MB\t"
        )
        logs = json.dumps({"logs": self.logs.take()}).encode()
        kind = "error" if is_error else "response"
        base = f"{self.endpoint}/invocations/{invocation.id}"

        def send() -> None:
            post(f"{base}/logs", logs)
            post(f"{base}/{kind}", body)

        threading.Thread(target=send, daemon=True).start()

    def max_memory_mb(self) -> int:
        process = self.process
        if process is None:
            return 0
        try:
            with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.kill_process()
            self.cond.notify_all()


def make_handler(env: Environment):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the runtime client reuses connections

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes; with Nagle's algorithm and the
            # client's delayed ACK each answer would wait ~40 ms on a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass  # one line per request would drown the function's own logs

        def body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(status)
            headers = {"Content-Type": "application/json", **(headers or {})}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path != f"{RUNTIME_API}/invocation/next":
                self.answer(404, b'{"errorMessage":"unknown path"}')
                return
            invocation = env.next_invocation()
            if invocation is None:
                self.answer(410, b'{"errorMessage":"environment stopping"}')
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.arn,
            }
            if invocation.trace_id:
                headers["Lambda-Runtime-Trace-Id"] = invocation.trace_id
            self.answer(200, invocation.payload, headers)

        def do_POST(self) -> None:  # noqa: N802
            body = self.body()
            if self.path == "/invoke":
                try:
                    request = json.loads(body)
                except ValueError:
                    self.answer(400, b'{"errorMessage":"invoke body is not JSON"}')
                    return
                self.answer(200, b"OK", {"Content-Type": "text/plain"})
                env.invoke(request)
                return
            if self.path == f"{RUNTIME_API}/init/error":
                with env.cond:
                    env.init_error = body or b'{"errorType":"Runtime.InitError"}'
                    if not env.ready_sent:
                        env.ready_sent = True
                        threading.Thread(
                            target=post,
                            args=(f"{env.endpoint}/status/{env.runtime_id}/error", env.init_error),
                            daemon=True,
                        ).start()
                self.answer(202, b'{"status":"OK"}')
                return
            prefix = f"{RUNTIME_API}/invocation/"
            if self.path.startswith(prefix):
                request_id, _, kind = self.path[len(prefix) :].partition("/")
                if kind in ("response", "error"):
                    status = env.complete(request_id, body, is_error=kind == "error")
                    self.answer(status, b'{"status":"OK"}' if status == 202 else b"{}")
                    return
            self.answer(404, b'{"errorMessage":"unknown path"}')

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-fd", type=int, required=True, help="listening 127.0.0.1 socket")
    parser.add_argument("--code-dir", required=True, help="the unzipped function code")
    parser.add_argument("--work-dir", required=True, help="this environment's tmp and log folder")
    args = parser.parse_args()
    sock = socket.socket(fileno=args.listen_fd)
    host, args.port = sock.getsockname()[:2]
    if host != "127.0.0.1":
        sys.exit(f"local_runtime_init: refusing to serve on {host}; only 127.0.0.1")

    env = Environment(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(env), bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    done = threading.Event()

    def on_signal(signum, frame) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.getppid()
    with env.cond:
        env.start_process()
    # Until stopped, or until LocalStack (the parent) is gone: never outlive it.
    while not done.wait(PARENT_CHECK_S):
        if os.getppid() != parent:
            say("LocalStack is gone; stopping")
            break
    env.stop()
    server.shutdown()


if __name__ == "__main__":
    main()

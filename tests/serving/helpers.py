"""Start and query model servers: agrolake's (``python -m agrolake.serving``) and
``mlflow models serve``. Imported by the tests and by ``bench/serving.py``: no pytest here.

Both servers run in their own session (process group) with their output in a log
file under the caller's workdir, and are stopped by signalling that group.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

FEATURES = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
    "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)  # fmt: skip
#: The seed README's request, byte for byte.
SEED_BODY = (
    b'{"dataframe_split": {"columns":["fixed acidity","volatile acidity","citric acid",'
    b'"residual sugar","chlorides","free sulfur dioxide","total sulfur dioxide","density",'
    b'"pH","sulphates","alcohol"],"data":[[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, '
    b"0.39, 75, 0.66]]}}"
)
SEED_ROW = [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]
JSON = "application/json"
_HOST = "127.0.0.1"
_PROCESS_ENV_PREFIXES = ("AGROLAKE_", "MLFLOW_")


def wine_rows(count: int, seed: int = 0) -> list[list[float]]:
    """``count`` plausible wine rows (ranges of the UCI red wine data), reproducibly."""
    import random

    rng = random.Random(seed)
    ranges = [
        (4.6, 15.9), (0.12, 1.58), (0.0, 1.0), (0.9, 15.5), (0.012, 0.611), (1, 72),
        (6, 289), (0.990, 1.004), (2.74, 4.01), (0.33, 2.0), (8.4, 14.9),
    ]  # fmt: skip
    return [[round(rng.uniform(lo, hi), 4) for lo, hi in ranges] for _ in range(count)]


def payloads(rows: Sequence[Sequence[float]]) -> dict[str, tuple[str, bytes]]:
    """The same rows in every request format: name -> (content type, body)."""
    records = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    columns = {f: [row[i] for row in rows] for i, f in enumerate(FEATURES)}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FEATURES)
    writer.writerows(rows)
    return {
        "dataframe_split": (
            JSON,
            json.dumps({"dataframe_split": {"columns": FEATURES, "data": rows}}).encode(),
        ),
        "dataframe_records": (JSON, json.dumps({"dataframe_records": records}).encode()),
        "instances": (JSON, json.dumps({"instances": records}).encode()),
        "inputs": (JSON, json.dumps({"inputs": columns}).encode()),
        "csv": ("text/csv", text.getvalue().encode()),
    }


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def version(self) -> str | None:
        return self.headers.get("x-model-version")


class Client:
    """One keep-alive HTTP/1.1 connection (TCP_NODELAY), reconnecting when the server closes."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        match = re.fullmatch(r"http://([^:/]+):(\d+)/?", url)
        assert match, url
        self.host, self.port = match.group(1), int(match.group(2))
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        return self._conn

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Response:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        raise AssertionError("unreachable")

    def post(self, body: bytes, content_type: str | None = JSON) -> Response:
        return self.request("POST", "/invocations", body, content_type)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((_HOST, 0))
        return int(s.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AGROLAKE_*/MLFLOW_* variables, plus ``extra``;
    the venv's bin first on PATH (``mlflow models serve`` runs ``uvicorn`` from PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROCESS_ENV_PREFIXES)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    """A model server started by :func:`start_agrolake` or :func:`start_mlflow_serve`."""

    kind: str
    url: str
    log_path: Path
    startup_seconds: float
    _proc: subprocess.Popen[bytes] = field(repr=False)
    _started: float = field(default=0.0, repr=False)
    _timeout: float = field(default=180.0, repr=False)

    def wait_ready(self) -> Self:
        """Wait until ``GET /ping`` answers 200 (for a server started with ``wait=False``)."""
        if not self.startup_seconds:
            _wait_ready(self, max(1.0, self._started + self._timeout - time.monotonic()))
            self.startup_seconds = time.monotonic() - self._started
        return self

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self) -> Client:
        return Client(self.url)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``timeout`` s. Idempotent."""
        proc = self._proc
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children of a dead parent

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _spawn(argv: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            env=dict(env),
            cwd=log_path.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"{server.kind} exited with {server._proc.returncode}:\n{server.log()[-3000:]}"
            )
        if server.url:
            with contextlib.suppress(OSError, http.client.HTTPException):
                client = server.client()
                try:
                    if client.get("/ping").status == 200:
                        return
                finally:
                    client.close()
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.kind} not ready after {timeout:.0f} s:\n{server.log()[-3000:]}")


_LISTENING = re.compile(r"on (http://127\.0\.0\.1:\d+)")


def start_agrolake(
    env: Mapping[str, str],
    workdir: Path,
    *,
    model: str = "wine-quality@champion",
    poll_seconds: float = 5.0,
    extra_args: Sequence[str] = (),
    timeout: float = 120.0,
) -> ServerProcess:
    """``python -m agrolake.serving --port 0`` with ``env`` (AGROLAKE_* settings)."""
    log_path = Path(workdir) / "agrolake-serve.log"
    argv = [
        sys.executable, "-m", "agrolake.serving", "--host", _HOST, "--port", "0",
        "--model", model, "--poll-seconds", str(poll_seconds), *extra_args,
    ]  # fmt: skip
    offset = log_path.stat().st_size if log_path.exists() else 0
    started = time.monotonic()
    server = ServerProcess("agrolake serve", "", log_path, 0.0, _spawn(argv, env, log_path))
    deadline = started + timeout
    while not server.url:
        text = log_path.read_bytes()[offset:].decode(errors="replace")
        if found := _LISTENING.search(text):
            server.url = found.group(1)
        elif not server.alive() or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"agrolake serve did not start:\n{text[-3000:]}")
        else:
            time.sleep(0.05)
    _wait_ready(server, max(1.0, deadline - time.monotonic()))
    server.startup_seconds = time.monotonic() - started
    return server


def start_mlflow_serve(
    model_uri: str,
    env: Mapping[str, str],
    workdir: Path,
    *,
    timeout: float = 180.0,
    wait: bool = True,
) -> ServerProcess:
    """The seed's command: ``mlflow models serve -m URI --env-manager local -p P --host H``.

    It takes ~15 s to start; with ``wait=False`` it starts in the background and
    :meth:`ServerProcess.wait_ready` waits for it later.
    """
    port = free_port()
    argv = [
        str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", model_uri,
        "--env-manager", "local", "-p", str(port), "--host", _HOST,
    ]  # fmt: skip
    started = time.monotonic()
    log_path = Path(workdir) / "mlflow-models-serve.log"
    server = ServerProcess(
        "mlflow models serve", f"http://{_HOST}:{port}", log_path, 0.0, _spawn(argv, env, log_path)
    )
    server._started, server._timeout = started, timeout
    if wait:
        server.wait_ready()
    return server


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    import psutil

    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def relative_difference(a: Sequence[float], b: Sequence[float]) -> float:
    assert len(a) == len(b), (len(a), len(b))
    return max(
        (abs(x - y) / max(abs(x), abs(y), 1e-12) for x, y in zip(a, b, strict=True)), default=0.0
    )

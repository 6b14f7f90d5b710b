"""Workbooks parsed in a child process whose address space is capped.

The static checks (``workbook_archive``) catch the workbooks that say how big
they are; this bound catches the rest: calamine clones a shared string into
every cell that uses it, a sheet may lie about its dimension, and calamine
aborts the whole process when an allocation fails. So the parsing happens in
one child process, started at the first workbook and reused for the whole run,
with ``RLIMIT_AS`` at ``AGROLAKE_READER_MEMORY_MB``. A child that dies, runs out
of memory or overruns ``AGROLAKE_READER_TIMEOUT_SECONDS`` rejects the file it
was reading, with a code naming the bound, and is replaced at the next request.

Not a ``ProcessPoolExecutor`` with the "spawn" context: spawn re-imports the
parent's ``__main__`` in the child (Prefect, under ``python -m etl.landing``).
A plain ``python -m agrolake.readers.worker_process`` imports the readers only,
and gets its environment before its first import: one polars thread and two
malloc arenas keep its address space at rest near 280 MB instead of 400–1,150.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import agrolake
from agrolake.errors import ConfigError, FileRejected
from agrolake.readers.reader_limits import MB, ReaderLimits, over_limit

START_SECONDS = 60.0
CHILD_ENVIRONMENT = {"POLARS_MAX_THREADS": "1", "MALLOC_ARENA_MAX": "2", "RUST_BACKTRACE": "0"}
ALLOCATION = re.compile(r"memory allocation of (\d+) bytes failed")
TELLING = re.compile(r"memory allocation|MemoryError|panicked|Error")


class _Worker:
    """One child process and its two pipes."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.owner = os.getpid()
        # The child's stderr, for the cause of a death; closed by stop().
        self.output: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        package_root = str(Path(agrolake.__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        command = [
            sys.executable, "-m", "agrolake.readers.worker_process",
            str(request_read), str(response_write), str(memory_mb * MB),
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                command,
                pass_fds=(request_read, response_write),
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=self.output,
                env={**os.environ, **CHILD_ENVIRONMENT, "PYTHONPATH": path},
                start_new_session=True,  # Ctrl-C reaches the parent, which ends the child
            )
        except OSError:
            self.output.close()
            raise
        finally:
            os.close(request_read)
            os.close(response_write)
        self.requests = Connection(request_write, readable=False)
        self.responses = Connection(response_read, writable=False)

    def stop(self, *, kill: bool = False) -> str:
        """End the child (it ends itself when its request pipe closes); how it ended."""
        self.requests.close()
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.responses.close()
        ended = self._ending()
        self.output.close()
        return ended

    def _ending(self) -> str:
        """The exit status or signal, with the last line the child wrote."""
        code = self.process.returncode
        self.output.seek(0)
        written = self.output.read()[-4096:]
        lines = [line for line in written.decode("utf-8", "replace").splitlines() if line.strip()]
        # The line that says why (Rust prints a hint about backtraces after it).
        telling = [line for line in lines if TELLING.search(line)] or lines[-1:]
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return f"{how}: {telling[0].strip()[:300]}" if telling else how


_lock = threading.Lock()
_worker: _Worker | None = None
_peak_rss = 0


def worker_peak_rss() -> int:
    """The highest RSS the reader children of this process reported, in bytes (0: none
    yet); a child that died reported nothing, but could not pass its bound."""
    return _peak_rss


def stop_worker() -> None:
    """End the reader child now (the next workbook starts another): after a run, its
    memory goes back to the system instead of waiting for this process to end."""
    global _peak_rss
    with _lock:
        if _worker is not None and _worker.owner == os.getpid():
            _discard(_worker)
        _peak_rss = 0


def run_isolated(operation: str, args: tuple[Any, ...], limits: ReaderLimits) -> Any:
    """Run a ``worker_process`` operation in the reader child; its rejections are raised here."""
    global _peak_rss
    with _lock:
        worker = _ready(limits.reader_memory_mb)
        try:
            _send(worker, operation, args)
        except OSError:  # the child died while idle (killed from outside): a new one, once
            _discard(worker)
            worker = _ready(limits.reader_memory_mb)
            _send(worker, operation, args)
        if not worker.responses.poll(limits.reader_timeout_seconds):
            _discard(worker, kill=True)
            raise over_limit(
                "reader_timeout",
                "reading the workbook took longer than "
                f"{limits.reader_timeout_seconds:g} s; it was stopped",
                "reader_timeout_seconds",
                f"{limits.reader_timeout_seconds:g} s",
            )
        try:
            status, payload, peak = worker.responses.recv()
        except (EOFError, OSError):
            raise _died(_discard(worker), limits) from None
        _peak_rss = max(_peak_rss, peak)
        if status == "memory":  # the child ends itself after a MemoryError
            _discard(worker)
            raise _out_of_memory("a MemoryError", limits)
    if status == "ok":
        return payload
    if status == "rejected":
        reason, code, details = payload
        raise FileRejected(reason, code=code, **details)
    raise FileRejected(f"the workbook cannot be read: {payload}", code="unreadable")


def _send(worker: _Worker, operation: str, args: tuple[Any, ...]) -> None:
    worker.output.seek(0)
    worker.output.truncate()  # only this request's output tells why the child died
    worker.requests.send((operation, args))


def _ready(memory_mb: int) -> _Worker:
    """The running child with this bound: started (or replaced) as needed."""
    global _worker
    worker = _worker
    if worker and (
        worker.owner != os.getpid()
        or worker.memory_mb != memory_mb
        or worker.process.poll() is not None
    ):
        if worker.owner == os.getpid():
            worker.stop()
        worker = _worker = None
    if worker is None:
        try:
            worker = _worker = _Worker(memory_mb)
        except OSError as exc:  # no such interpreter, no more processes or pipes
            raise ConfigError(f"the workbook reader process could not start: {exc}") from exc
        _await_start(worker)
    return worker


def _await_start(worker: _Worker) -> None:
    """The child says it is ready; if it cannot start, that is no fault of any file."""
    try:
        worker.requests.send(("ready", ()))
        if worker.responses.poll(START_SECONDS):
            worker.responses.recv()
            return
    except (EOFError, OSError):  # it ended before or while answering
        pass
    ended = _discard(worker, kill=True)
    raise ConfigError(
        f"the workbook reader process could not start ({ended}); check that "
        "`python -m agrolake.readers.worker_process` runs here and AGROLAKE_READER_MEMORY_MB"
    )


def _discard(worker: _Worker, *, kill: bool = False) -> str:
    """Stop the child and forget it; how it ended."""
    global _worker
    if _worker is worker:
        _worker = None
    return worker.stop(kill=kill)


def _died(cause: str, limits: ReaderLimits) -> FileRejected:
    allocation = ALLOCATION.search(cause)
    if allocation or "MemoryError" in cause or "SIGKILL" in cause:
        asked = f"calamine asked for {int(allocation[1]):,} bytes at once" if allocation else cause
        return _out_of_memory(asked, limits)
    return FileRejected(
        f"the workbook reader crashed on this file ({cause})",
        code="reader_crashed",
        cause=cause,
    )


def _out_of_memory(cause: str, limits: ReaderLimits) -> FileRejected:
    return over_limit(
        "reader_memory_exceeded",
        f"reading the workbook needs more memory ({cause})",
        "reader_memory_mb",
        f"{limits.reader_memory_mb:,} MB",
    )


@atexit.register
def _stop_at_exit() -> None:
    if _worker is not None and _worker.owner == os.getpid():
        _worker.stop()

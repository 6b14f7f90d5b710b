"""The reader child: ``python -m agrolake.readers.worker_process REQUESTS RESPONSES BYTES``.

It caps its own address space at BYTES (``RLIMIT_AS``) before reading any
request, then answers requests from the parent (``isolation``) one at a time
until the request pipe closes. A read that needs more memory fails here, as a
MemoryError or as calamine's abort, and never in the parent.
"""

from __future__ import annotations

import resource
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from agrolake.errors import FileRejected
from agrolake.readers.workbook_sheets import sample_workbook, sheet_to_parquet

OPERATIONS: dict[str, Callable[..., Any]] = {
    "ready": lambda: None,  # the parent's first request: the limits are set, imports done
    "sample_workbook": sample_workbook,
    "sheet_to_parquet": sheet_to_parquet,
}


def peak_rss() -> int:
    """This process's high-water RSS in bytes (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def answer(operation: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """One request's answer: ``ok`` with the result, ``rejected`` with the rejection's
    parts (exceptions with keyword arguments do not pickle), or ``memory``."""
    try:
        return "ok", OPERATIONS[operation](*args)
    except FileRejected as rejected:
        return "rejected", (rejected.reason, rejected.code, rejected.details)
    except MemoryError:
        return "memory", "a MemoryError"
    except Exception as exc:  # a bug of ours: reported to the parent, the child goes on
        lines = traceback.format_exception_only(exc)
        return "error", lines[-1].strip()


def main(argv: list[str]) -> int:
    requests_fd, responses_fd, limit = (int(a) for a in argv)
    import fastexcel  # noqa: F401  (at start, not in the first file's time and memory)

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not write a core file
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    requests = Connection(requests_fd, writable=False)
    responses = Connection(responses_fd, readable=False)
    while True:
        try:
            operation, args = requests.recv()
        except EOFError:  # the parent is done (or gone)
            return 0
        status, payload = answer(operation, args)
        responses.send((status, payload, peak_rss()))
        if status == "memory":
            return 1  # start afresh: the heap may be left fragmented


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A landing worker in its own process, for the concurrency and crash tests.

    python -m tests.landing_worker [--die-at put|finish|delete|trusted|write --nth N]

Prints the outcomes as JSON lines. With ``--die-at put`` it kills itself with SIGKILL
at its N-th put to raw, in the middle of a batch's puts (some bytes copied, none
recorded); with ``--die-at finish``, just before recording its N-th batch of outcomes
(the bytes are copied, the catalog does not know); with ``--die-at delete``, just
before its N-th delete of a landing object (the catalog knows, landing still holds the
file); ``trusted`` and ``write`` die in trusted (rows written but not recorded; inside
a MERGE).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from agrolake.lake import Lake
from agrolake.zones.landing import process_landing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-at", choices=["put", "finish", "delete", "trusted", "write"])
    parser.add_argument("--all", action="store_true", help="every zone, not only landing")
    parser.add_argument("--nth", type=int, default=1)
    args = parser.parse_args()
    lake = Lake.from_env()
    if args.die_at == "put":
        lake.store.put = _dying(lake.store.put, args.nth, zone="raw", after=True)  # type: ignore[method-assign]
    elif args.die_at == "finish":
        outcomes = lake.catalog.outcomes
        outcomes.record_landed = _dying(outcomes.record_landed, args.nth)  # type: ignore[method-assign]
    elif args.die_at == "delete":
        lake.store.delete = _dying(lake.store.delete, args.nth)  # type: ignore[method-assign]
    elif args.die_at == "trusted":  # rows written, the ingest not yet recorded as trusted
        lake.catalog.record_trusted = _dying(lake.catalog.record_trusted, args.nth)  # type: ignore[method-assign]
    elif args.die_at == "write":  # in the middle of a Delta commit
        lake.tables.merge = _dying(lake.tables.merge, args.nth)  # type: ignore[method-assign]
    if args.all:
        from agrolake.pipeline import run_all

        summary = run_all(lake).landing
    else:
        summary = process_landing(lake)
    for outcome in summary.outcomes:
        sys.stdout.write(json.dumps({"key": outcome.landing_key, "status": outcome.status}) + "\n")


def _dying(
    method: Callable[..., Any], nth: int, zone: str | None = None, after: bool = False
) -> Callable[..., Any]:
    """``method`` that kills the process at its ``nth`` call (in ``zone`` only, if given),
    before the call, or right ``after`` it returned."""
    calls = 0
    lock = threading.Lock()  # landing overlaps store requests on threads

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if zone is not None and args[0] != zone:
            return method(*args, **kwargs)
        with lock:
            calls += 1
            mine = calls
        if mine == nth and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = method(*args, **kwargs)
        if mine == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


if __name__ == "__main__":
    main()

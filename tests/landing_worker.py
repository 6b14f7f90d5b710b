"""A landing worker in its own process, for the concurrency and crash tests.

    python -m tests.landing_worker [--die-at finish|delete --nth N]

Prints the outcomes as JSON lines. With ``--die-at finish`` it kills itself with
SIGKILL just before recording its N-th outcome (the bytes are copied, the
catalog does not know); with ``--die-at delete``, just before its N-th delete of
a landing object (the catalog knows, landing still holds the file).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from agrolake.lake import Lake
from agrolake.zones.landing import process_landing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-at", choices=["finish", "delete", "trusted", "write"])
    parser.add_argument("--all", action="store_true", help="every zone, not only landing")
    parser.add_argument("--nth", type=int, default=1)
    args = parser.parse_args()
    lake = Lake.from_env()
    if args.die_at == "finish":
        lake.catalog.record_raw = _dying(lake.catalog.record_raw, args.nth)  # type: ignore[method-assign]
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


def _dying(method: Callable[..., Any], nth: int) -> Callable[..., Any]:
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return method(*args, **kwargs)

    return wrapper


if __name__ == "__main__":
    main()

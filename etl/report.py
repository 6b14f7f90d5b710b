"""One summary line per step: on stdout for the person who ran it, in the run's log
for the Prefect UI."""

from __future__ import annotations

from contextlib import suppress


def report(line: str) -> None:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    print(line, flush=True)
    with suppress(MissingContextError):  # outside a flow run: stdout is enough
        get_run_logger().info(line)

"""One summary line per step: on stdout for the person who ran it, in the run's log
for the Prefect UI; and a progress bar while files land, in a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def run_main(flow: Callable[[], Any]) -> None:
    """``__main__`` of an ETL module: the flow's summary lines, or one error line and a
    non-zero exit (the traceback with ``-v``)."""
    from agrolake.errors import AgrolakeError

    try:
        flow()
    except AgrolakeError as exc:
        if "-v" in sys.argv or "--verbose" in sys.argv:
            raise
        print(f"error: {exc.message}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as exc:
        if "-v" in sys.argv or "--verbose" in sys.argv:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        sys.exit(2)


def stop_if_interrupted(stopped: str | None) -> None:
    """After an outage stopped a zone (its summary reported), fail the task: the flow
    run says why, and the task's retries on transient errors apply."""
    if stopped:
        from agrolake.errors import StorageUnavailable

        raise StorageUnavailable(stopped)


def report(line: str) -> None:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    from agrolake.lake.naming import printable

    line = printable(line)  # file names reach these lines: no terminal escapes
    print(line, flush=True)
    with suppress(MissingContextError):  # outside a flow run: stdout is enough
        get_run_logger().info(line)


@dataclass
class ProgressHooks:
    """The library's ``on_listed``/``on_outcome`` callbacks, driving a bar."""

    on_listed: Callable[[int], None]
    on_outcome: Callable[[Any], None]


@contextmanager
def landing_progress() -> Iterator[ProgressHooks]:
    """A transient Rich bar on stderr when it is a terminal; silent under a worker."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("landing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    with bar:
        task = bar.add_task("landing", total=None)
        yield ProgressHooks(
            on_listed=lambda n: bar.update(task, total=n, completed=0),
            on_outcome=lambda _: bar.advance(task),
        )

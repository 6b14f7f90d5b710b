"""One summary line per step: on stdout for the person who ran it, in the run's log
for the Prefect UI; and progress bars while files land, requests are asked or a model
trains, in a terminal only (``agrolake.terminal``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from typing import Any

from agrolake.lake.progress import ProgressCallback
from agrolake.terminal import LandingHooks, landing_bar, progress_bar


def run_main(flow: Callable[[], Any]) -> None:
    """``__main__`` of an ETL module: the flow's summary lines, or one error line and a
    non-zero exit (the traceback with ``-v``); a warning for a mistyped setting."""
    from agrolake.errors import AgrolakeError
    from agrolake.terminal import error_line, show_library_warnings, warn_unknown_settings

    verbose = "-v" in sys.argv or "--verbose" in sys.argv
    show_library_warnings()
    warn_unknown_settings()
    try:
        flow()
    except AgrolakeError as exc:
        if verbose:
            raise
        error_line(exc.message)
        sys.exit(1)
    except Exception as exc:
        if verbose:
            raise
        error_line(f"{type(exc).__name__}: {exc} (run with -v for details)")
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


def landing_progress() -> AbstractContextManager[LandingHooks]:
    """Landing's bar on stderr when it is a terminal; silent under a worker."""
    return landing_bar()


def progress(label: str) -> AbstractContextManager[ProgressCallback]:
    """A bar for a library call taking ``on_progress`` (fetching, training)."""
    return progress_bar(label)

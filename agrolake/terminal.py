"""How agrolake talks to a person at a terminal: progress bars, warnings, one-line errors.

Shared by the command line and the flows (``python -m etl.<module>``). Bars are Rich
progress bars on stderr, drawn only when stderr is a terminal (never under a worker,
in a pipe or with ``--json``) and removed when done; warnings and errors are one line
each on stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from agrolake.lake.naming import printable
from agrolake.lake.progress import ProgressCallback, no_progress

# No markup: messages carry file names and reasons, printed as they are.
err = Console(stderr=True, soft_wrap=True, markup=False)


def _bar(enabled: bool, console: Console | None = None) -> Progress:
    console = console or err
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled or not console.is_terminal,
        transient=True,
    )


@contextmanager
def counting_bar(label: str, total: int | None, *, enabled: bool = True) -> Iterator[
    Callable[[], None]
]:  # fmt: skip
    """A bar of ``total`` items; the context gives the function that counts one done."""
    with _bar(enabled) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A bar driven by the library's ``on_progress(step, done, total)`` callback."""
    with _bar(enabled) as bar:
        task = bar.add_task(label, total=None)

        def update(step: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{label}: {step}" if step else label)
            bar.update(task, total=total, completed=done)

        yield update


@dataclass
class LandingHooks:
    """Landing's ``on_listed``/``on_outcome`` callbacks, driving one bar.

    Landing lists again after each pass and reports only the files it has not tried:
    the total grows by each listing, so the bar ends at done/done (never ``0/0``).
    """

    on_listed: Callable[[int], None]
    on_outcome: Callable[[Any], None]
    # The zones after landing (trusted, refined) on a second line of the same display:
    # Rich draws one live display at a time.
    on_progress: ProgressCallback = no_progress


@contextmanager
def landing_bar(*, enabled: bool = True, console: Console | None = None) -> Iterator[LandingHooks]:
    with _bar(enabled, console) as bar:
        task = bar.add_task("landing", total=None)
        zones: list[Any] = []

        def listed(waiting: int) -> None:
            done = int(bar.tasks[0].completed)
            bar.update(task, total=done + waiting)

        def progressed(step: str, done: int, total: int | None) -> None:
            if not zones:
                zones.append(bar.add_task(step, total=total))
            bar.update(zones[0], description=step, total=total, completed=done)

        yield LandingHooks(listed, lambda _: bar.advance(task), progressed)


def warn(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", printable(message)), highlight=False)


class _WarningLine(logging.Handler):
    """The library's warnings (``agrolake.*`` loggers) as ``warning: …`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        warn(record.getMessage())


def show_library_warnings() -> None:
    """Print warnings of the library (e.g. a wait for the catalog's lock) on stderr."""
    logger = logging.getLogger("agrolake")
    if not any(isinstance(h, _WarningLine) for h in logger.handlers):
        handler = _WarningLine(logging.WARNING)
        logger.addHandler(handler)
        logger.setLevel(min(logger.level or logging.WARNING, logging.WARNING))


def warn_unknown_settings() -> None:
    """One warning per ``AGROLAKE_*`` variable (environment or ``.env``) that no setting reads."""
    from agrolake.lake.settings_sources import unknown_variables

    for line in unknown_variables():
        warn(line)


def error_line(message: str) -> None:
    """``error: …`` on stderr, control characters escaped (a file name cannot forge a line)."""
    err.print(f"error: {printable(message)}", highlight=False, soft_wrap=True)

"""The progress callback of long library operations (fetching, training).

The library never draws: it calls ``on_progress(step, done, total)`` and the caller
(the CLI, a flow) draws a bar, logs, or ignores it. ``step`` names what is being done
now ("fitting random_forest", "weather 50-73"), ``done`` is how many of ``total``
units are finished (``total`` None while unknown). The last call has ``done == total``.
Landing keeps its own pair, ``on_listed(n)`` and ``on_outcome(outcome)``.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, int | None], None]


def no_progress(step: str, done: int, total: int | None) -> None:
    """The default callback: nothing to draw."""

"""Store requests overlapped on a few threads: a batch of small files waits for round trips,
not for the CPU (obstore and the file system release the GIL while they wait)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def overlapped(work: Callable[[T], R], items: Sequence[T], threads: int) -> list[R | Exception]:
    """``work`` on every item, ``threads`` at a time, in the items' order: each result, or
    the exception that item raised (one item's failure is that item's, never the batch's)."""

    def attempt(item: T) -> R | Exception:
        try:
            return work(item)
        except Exception as exc:
            return exc

    if threads <= 1 or len(items) <= 1:
        return [attempt(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(attempt, items))

"""Store requests overlapped on a few threads: a batch of small files waits for round trips,
not for the CPU (obstore and the file system release the GIL while they wait)."""

from __future__ import annotations

import threading
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
    return list(_pool(threads).map(attempt, items))


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per size for the process: a batch does not pay for starting threads."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="agrolake-io")
        return _pools[threads]

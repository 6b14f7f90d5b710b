"""Peak RSS of reading each hostile file: in this process, and in the reader child.

    .venv/bin/python -m tests.readers.memory_probe FOLDER [LIMITS_JSON]

writes the corpus under FOLDER (if not there yet), reads each file as landing
does (``read_sample``) and prints one JSON line per case: the code it got, this
process's peak RSS while reading it (VmHWM, reset before each case through
``/proc/self/clear_refs``) and the reader child's (a fresh child per case: its
own VmHWM when it answered, else the highest RSS sampled every 2 ms until it
died, which its address-space limit bounds anyway).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from agrolake.errors import FileRejected
from agrolake.readers import ReaderLimits, read_sample, stop_worker
from agrolake.readers.isolation import worker_peak_rss
from tests.hostile import CORPUS_LIMITS, build


def vm_hwm() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


def reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # 5: reset the peak RSS to the current RSS


class ChildSampler(threading.Thread):
    """The highest RSS of this process's children, sampled."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.me = psutil.Process()

    def run(self) -> None:
        while True:
            for child in self.me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    self.peak = max(self.peak, child.memory_info().rss)
            time.sleep(0.002)


def measure(path: Path, limits: ReaderLimits, sampler: ChildSampler) -> dict[str, Any]:
    """Read one file as landing does; its code and both peaks, in bytes."""
    stop_worker()
    sampler.peak = 0
    reset_hwm()
    started = time.perf_counter()
    try:
        read_sample(path, path.name, limits)
        code = "raw"
    except FileRejected as rejected:
        code = rejected.code
    seconds = time.perf_counter() - started
    time.sleep(0.01)  # one more sample of a child that is still there
    child = max(worker_peak_rss(), sampler.peak)
    return {"code": code, "parent": vm_hwm(), "child": child, "seconds": seconds}


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    limits = ReaderLimits(**(json.loads(argv[1]) if len(argv) > 1 else CORPUS_LIMITS))
    sampler = ChildSampler()
    sampler.start()
    for case, path in build(folder):
        print(json.dumps({"name": case.name, **measure(path, limits, sampler)}), flush=True)
    stop_worker()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

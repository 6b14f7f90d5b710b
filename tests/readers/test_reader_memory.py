"""No hostile file takes a reader past its memory bound (peak RSS, measured).

The probe runs in its own process (``tests/readers/memory_probe.py``): reading a
file as landing does, it reports the peak RSS of that process and of the reader
child for each case. The bounds asserted are the ones docs/limits.md states for
these limits; a bound, not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile

MIB = 1024 * 1024
#: The landing process itself: no workbook is parsed in it, and the other readers
#: hold a 1 MiB text head, one Parquet row group or one JSON document.
PARENT_BOUND = 512 * MIB
CHILD_BOUND = 1024 * MIB  # AGROLAKE_READER_MEMORY_MB's default: the child's address space
TOTAL_BOUND = 1536 * MIB


@pytest.mark.slow
def test_every_hostile_file_is_read_within_the_memory_bound(
    hostile_files: list[tuple[hostile.Hostile, Path]],
) -> None:
    folder = hostile_files[0][1].parent
    done = subprocess.run(
        [sys.executable, "-m", "tests.readers.memory_probe", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    measured = {m["name"]: m for m in map(json.loads, done.stdout.splitlines())}
    assert sorted(measured) == sorted(case.name for case, _ in hostile_files)
    for case, _ in hostile_files:
        m = measured[case.name]
        assert m["code"] == case.expect, case.name
        assert m["parent"] < PARENT_BOUND, f"{case.name}: {m['parent'] / MIB:.0f} MiB"
        assert m["child"] <= CHILD_BOUND, f"{case.name}: child {m['child'] / MIB:.0f} MiB"
        assert m["parent"] + m["child"] < TOTAL_BOUND, case.name
    # The bound is what stopped these: their child really grew (a 2 GB clone bomb),
    # or asked for 512 GiB at once and was refused.
    assert measured["cadena_clonada.xlsx"]["child"] > 256 * MIB

"""The rows of every trusted and refined table stay as pinned (tests/pinned_lake.py)."""

from __future__ import annotations

import json
from pathlib import Path

from agrolake.lake import Lake
from tests.pinned_lake import PINNED, build_tables, digests, input_digests


def test_inputs_are_the_pinned_ones(tmp_path: Path) -> None:
    pinned = json.loads(PINNED.read_text())["inputs"]
    assert input_digests(tmp_path) == pinned, "the sample generators changed: not the zones"


def test_every_table_holds_the_pinned_rows(local_lake: Lake, tmp_path: Path) -> None:
    pinned = json.loads(PINNED.read_text())["tables"]
    built = digests(build_tables(local_lake, tmp_path))
    assert sorted(built) == sorted(pinned)
    for table, facts in pinned.items():
        assert built[table]["rows"] == facts["rows"], table
        assert built[table]["columns"] == facts["columns"], table
        moved = [c for c, d in facts["digests"].items() if built[table]["digests"][c] != d]
        assert not moved, f"{table}: the values of {', '.join(moved)} changed"

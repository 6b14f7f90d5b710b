"""The hostile corpus, written once per session (the 800 MB shared string takes 2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import hostile


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[hostile.Hostile, Path]]:
    return hostile.build(tmp_path_factory.mktemp("hostile"))

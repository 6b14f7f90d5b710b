"""The reader bounds are settings: described, read from the environment, passed down."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest

from agrolake.errors import FileRejected
from agrolake.lake.settings import Settings, load_settings
from agrolake.readers import ReaderLimits, read_sample

LANDING_DOC = Path(__file__).resolve().parents[2] / "docs" / "lake.md"


def test_every_bound_is_a_described_setting_whose_code_is_documented() -> None:
    documented = LANDING_DOC.read_text()
    for field in fields(ReaderLimits):
        setting = Settings.model_fields[field.name]
        assert setting.description, field.name
        code = setting.description.rsplit("[", 1)[-1].rstrip("].")
        assert f"| `{code}` |" in documented, f"{code} ({field.name}) in the reason table"
        assert getattr(ReaderLimits(), field.name) == setting.default


def test_bounds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGROLAKE_MAX_COLUMNS", "3")
    limits = ReaderLimits.from_settings(load_settings())
    assert limits.max_columns == 3 and limits.max_line_kb == ReaderLimits().max_line_kb
    path = tmp_path / "four.csv"
    path.write_text("a,b,c,d\n1,2,3,4\n")
    with pytest.raises(FileRejected) as too_wide:
        read_sample(path, path.name, limits)
    assert too_wide.value.code == "too_many_columns"
    assert too_wide.value.reason == (
        "the table has 4 columns, over the limit of 3 (AGROLAKE_MAX_COLUMNS)"
    )


def test_a_parquet_file_is_judged_by_its_footer(tmp_path: Path) -> None:
    path = tmp_path / "ndvi.parquet"
    pl.DataFrame({"date": ["2024-05-01"] * 10, "ndvi": [0.5] * 10}).write_parquet(path)
    assert read_sample(path, path.name).tables[0].rows == 10
    with pytest.raises(FileRejected) as too_wide:
        read_sample(path, path.name, ReaderLimits(max_columns=1))
    assert too_wide.value.code == "too_many_columns"
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(FileRejected, match="footer is missing") as truncated:
        read_sample(cut, cut.name)
    assert truncated.value.code == "unreadable"

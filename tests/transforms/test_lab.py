"""Tests for the raw → trusted wine quality transform, on the bundled UCI data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from agrolake.samples import WINE_COLUMNS, write_wine_quality
from agrolake.transforms.row_errors import ERRORS_DTYPE, quarantined_rows, valid_rows
from tests.builtin import (
    WINE_QUALITY_SCHEMA,
    clean_wine_quality,
)

ROWS = 300
FEATURES = WINE_COLUMNS[:-1]
EXPECTED = {c: pl.Float64() for c in FEATURES} | {"quality": pl.Int32()}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wine_quality(tmp_path_factory.mktemp("wine") / "wine.csv", rows=ROWS, seed=3)


@pytest.fixture(scope="module")
def uci_form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wine") / "winequality-red.csv"
    return write_wine_quality(path, rows=ROWS, seed=3, delimiter=";", quoted_header=True)


def read(path: Path, separator: str = ",", **kwargs: object) -> pl.DataFrame:
    return pl.read_csv(path, separator=separator, infer_schema=False, **kwargs)  # type: ignore[arg-type]


def with_cells(raw: pl.DataFrame, column: str, values: Mapping[int, str | None]) -> pl.DataFrame:
    expr = pl.col(column)
    for row, value in values.items():
        expr = pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, pl.String)).otherwise(expr)
    return raw.with_columns(expr.alias(column))


def assert_streams(lf: pl.LazyFrame) -> None:
    """Every node of the streaming plan streams: no in-memory fallback, no Python, no sort."""
    graph = lf.show_graph(engine="streaming", plan_stage="physical", raw_output=True, show=False)
    assert graph is not None
    assert "python_udf" not in graph
    fallback = re.findall(r'label="([^"\\]*)[^\n]*fillcolor="0\.0 0\.3 1\.0"', graph)
    heavy = re.findall(r'label="([^"\\]*)[^\n]*fillcolor="0\.16 0\.3 1\.0"', graph)
    assert fallback == []
    assert all(label.endswith("source") for label in heavy), heavy


def test_both_file_forms_give_the_twelve_uci_columns_typed(plain: Path, uci_form: Path) -> None:
    assert uci_form.read_text().startswith('"fixed acidity";"volatile acidity"')
    from_plain = clean_wine_quality(read(plain).lazy())
    from_uci = clean_wine_quality(read(uci_form, ";").lazy())
    assert dict(from_plain.collect_schema()) == EXPECTED | {"_errors": ERRORS_DTYPE}
    assert list(from_plain.collect_schema())[:12] == WINE_COLUMNS
    WINE_QUALITY_SCHEMA.validate(from_plain)
    WINE_QUALITY_SCHEMA.validate(from_uci)
    plain_out, uci_out = from_plain.collect(), from_uci.collect()
    assert plain_out.height == ROWS and plain_out["_errors"].list.len().sum() == 0
    assert_frame_equal(plain_out, uci_out)
    WINE_QUALITY_SCHEMA.validate(valid_rows(from_uci).collect())


def test_values_are_the_bundled_uci_values(tmp_path: Path) -> None:
    # The whole data set: every value parses to what polars' own CSV inference reads.
    bundled = resources.files("agrolake").joinpath("data/wine_quality/winequality-red.csv")
    expected = pl.read_csv(bundled.read_bytes()).cast(EXPECTED)  # type: ignore[arg-type]
    path = write_wine_quality(tmp_path / "all.csv", delimiter=";", quoted_header=True)
    out = clean_wine_quality(read(path, ";").lazy()).collect()
    assert out.height == 1599
    assert_frame_equal(out.drop("_errors"), expected)
    assert out["quality"].min() == 3 and out["quality"].max() == 8  # the real score range


def test_headers_still_quoted_or_oddly_spaced_match(uci_form: Path) -> None:
    # Read without quote handling: the header keeps its quotes, as a naive reader would.
    quoted = read(uci_form, ";", quote_char=None)
    assert quoted.columns[0] == '"fixed acidity"'
    spaced = quoted.rename({'"pH"': ' "PH" ', '"free sulfur dioxide"': "free  sulfur dioxide"})
    out = clean_wine_quality(spaced.lazy()).collect()
    assert list(out.columns) == [*WINE_COLUMNS, "_errors"]
    reference = clean_wine_quality(read(uci_form, ";").lazy()).collect()
    assert_frame_equal(out, reference)


def test_bad_values_are_quarantined_with_column_check_and_value(plain: Path) -> None:
    raw = read(plain)
    raw = with_cells(raw, "quality", {0: "11", 1: "6.0", 2: " 7 "})
    raw = with_cells(raw, "alcohol", {3: "-0.5", 4: "9,5", 5: "NaN"})
    raw = with_cells(raw, "pH", {6: "3.2.1"})
    raw = with_cells(raw, "density", {7: ""}).with_row_index("_row")
    cleaned = clean_wine_quality(raw.lazy())
    out = cleaned.collect()
    assert out["quality"][:3].to_list() == [11, 6, 7]
    assert out["alcohol"][3:6].to_list() == [-0.5, 9.5, None]
    quarantine = quarantined_rows(cleaned, "trusted.lab_wine_quality").collect()
    assert quarantine.select("row_index", "column", "check", "value").rows() == [
        (0, "quality", "range:0..10", "11"),
        (3, "alcohol", "range:0..", "-0.5"),
        (5, "alcohol", "not_null", "NaN"),
        (6, "pH", "type:float64", "3.2.1"),
        (7, "density", "not_null", ""),
    ]
    valid = valid_rows(cleaned).collect()
    assert valid.height == ROWS - 5
    assert {1, 2, 4} <= set(valid["_row"])
    WINE_QUALITY_SCHEMA.validate(valid.drop("_row"))


def test_a_missing_column_fails_every_row(plain: Path) -> None:
    out = clean_wine_quality(read(plain).drop("quality").lazy()).collect()
    assert out["quality"].is_null().all()
    assert (
        out["_errors"].to_list()
        == [[{"column": "quality", "check": "not_null", "value": ""}]] * ROWS
    )


def test_wine_streams_and_matches_the_default_engine(plain: Path) -> None:
    scanned = pl.scan_csv(plain, infer_schema=False).with_row_index("_row")
    scanned = scanned.with_columns(
        pl.when(pl.col("_row") == 9)
        .then(pl.lit("x"))
        .otherwise(pl.col("chlorides"))
        .alias("chlorides")
    )
    cleaned = clean_wine_quality(scanned)
    for lf in (cleaned, valid_rows(cleaned), quarantined_rows(cleaned, "t")):
        assert_streams(lf)
        assert_frame_equal(lf.collect(engine="streaming"), lf.collect())
    assert quarantined_rows(cleaned, "t").collect()["row_index"].to_list() == [9]

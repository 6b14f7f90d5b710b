"""Values formatted by type, result grids that fit the terminal, safe CSV, escaped SVG."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from agrolake.ui.downloads import as_csv, safe_cell
from agrolake.ui.formatting import format_value
from agrolake.ui.result_grid import grid_lines, vertical_lines
from agrolake.ui.svg_graph import lineage_svg

COLUMNS = [f"column_{i:02d}" for i in range(41)]
TYPES = ["str", *["f64"] * 40]
ROWS = [[f"enclosure-{r}", *(r * 1.5 + c for c in range(40))] for r in range(5)]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "–"), (True, "yes"), (2024, "2024"), (16402, "16\u202f402"),
        (72.39999999999999, "72.4"), (0.54640789, "0.5464"), (-0.0, "0"), (12345.678, "12345.68"),
        (date(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1, 4, 5, tzinfo=UTC), "2024-03-01 04:05:00 UTC"),
        (["AEMET", "Open-Meteo"], "AEMET, Open-Meteo"),
    ],
)  # fmt: skip
def test_values_are_formatted_by_type(value: object, shown: str) -> None:
    assert format_value(value) == shown


@pytest.mark.parametrize("width", [40, 80, 120, 250])
def test_a_wide_result_fits_the_terminal_with_middle_columns_elided(width: int) -> None:
    lines = grid_lines(COLUMNS, TYPES, ROWS, width)
    assert max(len(line) for line in lines[:-1]) <= width
    header = lines[1]
    assert "column_00" in header and "column_40" in header and "│ … │" in header
    shown = header.count("column_")
    assert lines[-1] == f"5 rows  41 columns ({shown} shown)"
    assert header.index("column_00") < header.index("…") < header.index("column_40")


def test_a_narrow_result_is_whole_and_a_long_one_keeps_its_ends() -> None:
    rows = [[i, f"row {i}"] for i in range(100)]
    lines = grid_lines(["n", "text"], ["i64", "str"], rows, 80)
    assert "…" not in lines[1] and lines[-1] == "100 rows (40 shown)  2 columns"
    body = [line for line in lines if line.startswith("│")][2:]
    assert body[0].startswith("│   0 │ row 0 ") and body[-1].startswith("│  99 │ row 99")
    assert body[20].startswith("│ …")


def test_control_characters_cannot_break_the_grid() -> None:
    lines = grid_lines(["a"], ["str"], [["two\nlines\x1b[31m"]], 80)
    assert lines[4] == "│ two↵lines·[31m │"


def test_vertical_shows_one_record_per_block() -> None:
    lines = vertical_lines(["enclosure_id", "year"], [["50-73-0-0-1-2-3", 2024]], 80)
    assert lines[0].startswith("─[ RECORD 1 ]─")
    assert lines[1:3] == ["enclosure_id │ 50-73-0-0-1-2-3", "year         │ 2024"]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"),
        ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("-4", "-4"),
        ("+1,5", "+1,5"), ("almendro", "almendro"),
    ],
)  # fmt: skip
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(text: str, safe: str) -> None:
    assert safe_cell(text) == safe


def test_csv_download_is_utf8_with_bom_and_escapes_formulas() -> None:
    table = pa.table({"name": ["=1+1", "Regadío"], "day": [date(2024, 3, 1), None]})
    text = as_csv(table).decode("utf-8")
    assert text == "\ufeffname,day\r\n'=1+1,2024-03-01\r\nRegadío,\r\n"


def test_graph_labels_are_escaped() -> None:
    graph = {
        "nodes": [
            {"id": "file:x", "kind": "file", "label": "<b>x</b>.csv", "file": "<b>x</b>.csv"}
        ],
        "edges": [],
    }
    svg = str(lineage_svg(graph, lambda node: '/lineage?file="><script>'))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;.csv" in svg
    assert 'href="/lineage?file=&#34;&gt;&lt;script&gt;"' in svg

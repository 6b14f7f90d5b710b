"""Results that fit the terminal, as DuckDB's shell shows them: the first and last
columns that fit with ``…`` between them, the first and last rows of a long result,
each column's type under its name; or one record per block (``--vertical``).

Plain text (box-drawing characters), never wider than the terminal; control
characters in values are made visible, so one odd cell cannot break the grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from agrolake.ui.formatting import THIN_SPACE, format_value

MAX_COLUMN = 32  # a cell wider than this is cut with …
MAX_ROWS = 40
ELIDED = "…"


def cell_text(value: Any) -> str:
    """A value on one terminal line: formatted by type, control characters shown."""
    text = format_value(value).replace(THIN_SPACE, "")
    return "".join(c if c.isprintable() else ("↵" if c == "\n" else "·") for c in text)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELIDED


def _fitting(widths: list[int], width: int) -> list[int]:
    """Indexes of the columns shown: from both ends inwards (left first) while they
    fit in ``width``, with room for the elision column when some are left out."""
    order, left, right = [], 0, len(widths) - 1
    while left <= right:
        order.append(left)
        left += 1
        if left <= right:
            order.append(right)
            right -= 1
    chosen: list[int] = []
    for i in order:
        candidate = [*chosen, i]
        used = sum(widths[j] + 3 for j in candidate) + 1
        room = 0 if len(candidate) == len(widths) else len(ELIDED) + 3
        if used + room > width:
            break
        chosen = candidate
    return sorted(chosen) or [0]


def grid_lines(
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    width: int,
    max_rows: int = MAX_ROWS,
) -> list[str]:
    """The result as a box-drawn grid at most ``width`` characters wide."""
    if not columns:
        return ["(no columns)"]
    shown_rows: list[Sequence[Any] | None] = list(rows)
    if len(rows) > max_rows:
        half = max_rows // 2
        shown_rows = [*rows[:half], None, *rows[-half:]]
    texts = [[cell_text(v) for v in row] if row is not None else None for row in shown_rows]
    widths = [
        min(MAX_COLUMN, max([len(name), len(kind), *(len(t[i]) for t in texts if t)]))
        for i, (name, kind) in enumerate(zip(columns, types, strict=True))
    ]
    chosen = _fitting(widths, width)
    if len(chosen) == 1 and widths[chosen[0]] + 4 > width:
        widths[chosen[0]] = max(width - 4, 1)
    elided_at = next((n for n, i in enumerate(chosen) if n != i), len(chosen))
    if len(chosen) == len(columns):
        elided_at = -1

    def line(cells: list[str], numeric: list[bool] | None = None) -> str:
        parts = []
        for n, i in enumerate(chosen):
            if n == elided_at:
                parts.append(ELIDED)
            text = _cut(cells[i], widths[i])
            parts.append(text.rjust(widths[i]) if numeric and numeric[i] else text.ljust(widths[i]))
        if elided_at == len(chosen):
            parts.append(ELIDED)
        return "│ " + " │ ".join(parts) + " │"

    def rule(left: str, middle: str, right: str) -> str:
        spans = ["─" * (widths[i] + 2) for i in chosen]
        if elided_at >= 0:
            spans.insert(elided_at, "─" * (len(ELIDED) + 2))
        return left + middle.join(spans) + right

    numeric = [
        kind.startswith(("i", "u", "f", "decimal")) and not kind.startswith("interval")
        for kind in types
    ]
    lines = [rule("┌", "┬", "┐"), line(list(columns)), line(list(types)), rule("├", "┼", "┤")]
    for text_row in texts:
        lines.append(line([ELIDED] * len(columns)) if text_row is None else line(text_row, numeric))
    lines.append(rule("└", "┴", "┘"))
    shown = f"{len(rows)} rows" + (f" ({max_rows} shown)" if len(rows) > max_rows else "")
    cols = f"{len(columns)} columns" + (f" ({len(chosen)} shown)" if elided_at >= 0 else "")
    lines.append(f"{shown}  {cols}")
    return lines


def vertical_lines(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int) -> list[str]:
    """One block per record: ``name │ value`` lines under a ``-[ RECORD n ]`` rule."""
    pad = max((len(c) for c in columns), default=0)
    lines = []
    for number, row in enumerate(rows, 1):
        head = f"─[ RECORD {number} ]"
        lines.append(head + "─" * max(0, min(width, pad + 40) - len(head)))
        lines += [f"{c.ljust(pad)} │ {cell_text(v)}" for c, v in zip(columns, row, strict=True)]
    lines.append(f"{len(rows)} rows  {len(columns)} columns")
    return lines


def quality_lines(reports: list[dict[str, Any]]) -> list[str]:
    """``agrolake quality``: a few lines per ingest and table."""
    if not reports:
        return ["no quality report: no ingest has reached the trusted zone yet"]
    lines = []
    for r in reports:
        name = cell_text(r["original_name"])
        lines.append(f"{name} → {r['table']}  (ingest {r['ingest_id']})")
        lines.append(
            f"  rows in {cell_text(r['rows_in'])}, written {cell_text(r['rows_written'])}, "
            f"quarantined {cell_text(r['rows_quarantined'])}"
        )
        if r["by_check"]:
            checks = ", ".join(f"{c} ×{n}" for c, n in r["by_check"].items())
            columns = ", ".join(f"{c} ×{n}" for c, n in (r["by_column"] or {}).items())
            lines.append(f"  failed checks: {checks}" + (f" (in {columns})" if columns else ""))
        empty = {c: v for c, v in (r["null_rate"] or {}).items() if v}
        if empty:
            lines.append(
                "  empty values: " + ", ".join(f"{c} {v:.0%}" for c, v in sorted(empty.items()))
            )
        if r["new_columns"]:
            lines.append(f"  new columns: {', '.join(r['new_columns'])}")
    return lines


def result_lines(result: pl.DataFrame, width: int, *, vertical: bool = False) -> list[str]:
    """A query result for ``agrolake query``: a grid that fits, or records in blocks."""
    rows = result.rows()
    if vertical:
        return vertical_lines(result.columns, rows, width)
    types = [dtype._string_repr() for dtype in result.dtypes]
    return grid_lines(result.columns, types, rows, width)

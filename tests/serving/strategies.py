"""Hypothesis strategies for request bodies: mostly near-valid scoring requests, broken in
every way a client can break them, plus arbitrary JSON, text and bytes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import strategies as st

from tests.serving.helpers import FEATURES

_ASCII = st.characters(min_codepoint=32, max_codepoint=126)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
numbers = st.integers(-(10**6), 10**6) | st.floats(-1e6, 1e6)
extreme_numbers = st.integers() | st.floats(allow_nan=False)
dirty_cells = st.one_of(extreme_numbers, scalars, json_values)


@st.composite
def cells(draw: st.DrawFn) -> Any:
    """Mostly numbers: a row of 11 is then often entirely valid."""
    return draw(numbers if draw(st.integers(0, 19)) else dirty_cells)


names = st.sampled_from(FEATURES) | st.text(max_size=10)


@st.composite
def columns(draw: st.DrawFn) -> list[str]:
    chosen = list(FEATURES)
    if draw(st.booleans()):
        chosen = draw(st.permutations(chosen))
    if draw(st.integers(0, 3)) == 0:
        chosen = chosen[: draw(st.integers(0, len(chosen)))]
    if draw(st.integers(0, 3)) == 0:
        chosen = [*chosen, *draw(st.lists(names, max_size=2))]
    return chosen


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    return {c: draw(cells()) for c in draw(columns())}


@st.composite
def documents(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["split", "records", "instances", "inputs", "any"]))
    if kind == "split":
        names_ = draw(columns())
        width = len(names_) if draw(st.integers(0, 4)) else draw(st.integers(0, 13))
        data = draw(st.lists(st.lists(cells(), min_size=width, max_size=width), max_size=4))
        split: dict[str, Any] = {"columns": names_, "data": data}
        if draw(st.integers(0, 5)) == 0:
            split = draw(st.dictionaries(st.sampled_from(["columns", "data", "x"]), json_values))
        return {"dataframe_split": split}
    if kind in ("records", "instances"):
        return {
            f"dataframe_{kind}" if kind == "records" else kind: draw(
                st.lists(records(), max_size=4)
            )
        }
    if kind == "inputs":
        size = draw(st.integers(0, 3))
        return {
            "inputs": {
                c: draw(st.lists(cells(), min_size=size, max_size=size)) for c in draw(columns())
            }
        }
    return draw(json_values)


@st.composite
def csv_bodies(draw: st.DrawFn) -> bytes:
    header = draw(columns())
    width = len(header) if draw(st.integers(0, 3)) else draw(st.integers(0, 13))
    cell = st.one_of(numbers.map(str), numbers.map(str), st.text(_ASCII, max_size=6))
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=4))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode()


content_types = st.sampled_from(
    [
        "application/json",
        "text/csv",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "",
        None,
    ]
) | st.text(_ASCII, max_size=30)
json_documents = documents().map(lambda d: json.dumps(d).encode())
anything = st.one_of(
    json_documents, csv_bodies(), st.binary(max_size=300), st.text(max_size=300).map(str.encode)
)


def request_bodies() -> st.SearchStrategy[tuple[str | None, bytes]]:
    """(content type, body) pairs: JSON and CSV requests, near-valid ones, and junk."""
    return st.one_of(
        st.tuples(st.just("application/json"), json_documents),
        st.tuples(st.just("text/csv"), csv_bodies()),
        st.tuples(content_types, anything),
    )

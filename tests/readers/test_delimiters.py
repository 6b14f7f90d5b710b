"""The delimiter of a text file: at a glance for plain exports, sniffed otherwise."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agrolake.errors import FileRejected
from agrolake.readers import read_sample
from agrolake.readers.delimited import DELIMITERS, _delimiter


def _cells(delimiter: str) -> st.SearchStrategy[str]:
    # Any candidate, the delimiter itself and quotes: the writer quotes what needs it.
    return st.text(alphabet='abcXYZ019 .-_/"' + DELIMITERS, max_size=12)


@st.composite
def plain_exports(draw: st.DrawFn) -> tuple[str, list[str]]:
    delimiter = draw(st.sampled_from(DELIMITERS))
    width = draw(st.integers(2, 8))
    name = st.text(alphabet="abcdefgh ", min_size=1, max_size=8).filter(str.strip)
    header = draw(st.lists(name, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(_cells(delimiter), min_size=width, max_size=width), max_size=30))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    return delimiter, out.getvalue().splitlines()


@settings(max_examples=300, deadline=None)
@given(plain_exports())
def test_a_plain_export_gets_the_delimiter_of_its_header(export: tuple[str, list[str]]) -> None:
    delimiter, lines = export
    assert _delimiter(lines) == delimiter


def test_decimal_commas_in_a_semicolon_file(tmp_path: Path) -> None:
    path = tmp_path / "riego.csv"
    path.write_text("parcela;litros;fecha\nA-1;12,5;01/03/2024\nA-2;7,25;02/03/2024\n")
    sample = read_sample(path, path.name)
    assert sample.options["delimiter"] == ";"
    assert sample.tables[0].frame.row(0) == ("A-1", "12,5", "01/03/2024")


@pytest.mark.parametrize(
    "text",
    [
        'name,notes\n"Finca, La Vega",ok\n"Olivar, Norte",ok\n',  # quoted delimiters
        'a;b\n"x\ny";1\n2;3\n',  # a quoted line end: rows the glance cannot count
        "a;b,c;d\n1;2,3;4\n5;6,7;8\n",  # two candidates in the header
        "a|b|c\n1|2\n3|4|5|6\n",  # ragged rows
    ],
)
def test_the_glance_and_the_sniffer_agree_on_less_plain_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(text)
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:  # the sniffer gives up: the header's most frequent candidate
        sniffed = max(DELIMITERS, key=text.splitlines()[0].count)
    assert read_sample(path, path.name).options["delimiter"] == sniffed


def test_rows_and_frame_agree_and_short_rows_are_padded(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    table = read_sample(path, path.name).tables[0]
    assert table.rows == table.frame.height == 2
    assert table.frame.row(1) == ("4", "5", None)
    assert table.details == {"ragged_rows": "1"}


def test_a_head_of_blank_lines_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "blank_head.csv"
    path.write_text("\n" * 60 + "a,b\n1,2\n")
    with pytest.raises(FileRejected) as rejected:
        read_sample(path, path.name)
    assert "\n" not in rejected.value.reason

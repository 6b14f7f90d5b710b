"""JSON landing files: the three table shapes, their shared fields, and non-UTF-8 text."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from agrolake.errors import FileRejected
from agrolake.lake.read_options import ReadOptions
from agrolake.readers import read_frame, read_sample


def write(tmp_path: Path, document: object, encoding: str = "utf-8") -> Path:
    path = tmp_path / "file.json"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode(encoding))
    return path


def test_a_column_table_reads_as_rows_with_the_other_fields_on_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "location_id": "50-73",
            "latitude": 41.35,
            "daily_units": {"time": "iso8601", "precipitation_sum": "mm"},
            "daily": {"time": ["2024-03-01", "2024-03-02"], "precipitation_sum": [0.4, None]},
        },
    )
    sample = read_sample(path, path.name)
    [table] = sample.tables
    assert sample.format == "json"
    assert table.columns == ["location_id", "latitude", "daily_units", "time", "precipitation_sum"]
    frame = read_frame(path, ReadOptions("json"), None).collect()
    assert frame.rows() == [
        ("50-73", "41.35", '{"time": "iso8601", "precipitation_sum": "mm"}', "2024-03-01", "0.4"),
        ("50-73", "41.35", '{"time": "iso8601", "precipitation_sum": "mm"}', "2024-03-02", None),
    ]
    assert frame.schema == pl.Schema(dict.fromkeys(table.columns, pl.String()))


def test_an_object_with_one_list_of_records_repeats_its_fields_on_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"id": "50-73-0-0-1-2-1", "values": [{"date": "2024-05-01", "ndvi": 0.5}, {"date": "x"}]},
    )
    frame = read_frame(path, ReadOptions("json"), None).collect()
    assert frame.columns == ["id", "date", "ndvi"]
    assert frame.rows() == [
        ("50-73-0-0-1-2-1", "2024-05-01", "0.5"),
        ("50-73-0-0-1-2-1", "x", None),
    ]


def test_iso_8859_15_json_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, [{"nombre": "ALBACETE, BASE AÉREA", "tmed": "10,2"}], "iso8859_15")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    frame = read_frame(path, ReadOptions("json"), None).collect()
    assert frame["nombre"].to_list() == ["ALBACETE, BASE AÉREA"]
    assert read_sample(path, path.name).tables[0].columns == ["nombre", "tmed"]


@pytest.mark.parametrize(
    "document",
    [
        {"error": True, "reason": "Parameter 'daily' is invalid"},
        {"a": [{"x": 1}], "b": [{"y": 2}]},
        {"daily": {"time": [1, 2], "t": [1]}},
        {"hourly": {"time": [1]}, "daily": {"time": [1]}},
        [1, 2, 3],
    ],
)
def test_documents_without_one_table_are_rejected_with_the_shapes_named(
    tmp_path: Path, document: object
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(FileRejected) as rejected:
        read_sample(path, path.name)
    assert rejected.value.code == "unreadable"
    assert "one table of equal-length lists" in rejected.value.reason


def test_broken_json_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(b'{"latitude": 41.3, "daily": {"time": ["2024-03-0')
    with pytest.raises(FileRejected, match="the JSON cannot be parsed") as rejected:
        read_sample(path, path.name)
    assert rejected.value.code == "unreadable"

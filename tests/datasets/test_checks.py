"""Value checks declared on fields run on values: each failing row says check, column, value."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from agrolake.datasets.cleaning import cleaning_of
from agrolake.datasets.model import Dataset
from agrolake.datasets.trusted_schema import trusted_schema
from agrolake.transforms.row_errors import quarantined_rows, valid_rows

DECLARATION = {
    "id": "farm.harvest",
    "tables": [
        {
            "key": ["plot", "day"],
            "fields": [
                {"name": "plot", "source": "Parcela", "required": True,
                 "checks": {"pattern": "^[0-9]{5}$"}},
                {"name": "day", "source": "Fecha", "type": "date", "required": True,
                 "format": "%d/%m/%Y", "checks": {"min": "2000-01-01", "max": "2030-12-31"}},
                {"name": "kg", "source": "Peso", "type": "float", "decimal": ",",
                 "checks": {"min": 0, "max": 50000}},
                {"name": "variety", "source": "Variedad",
                 "checks": {"allowed": ["Kerman", "Larnaka", "Sirora"]}},
                {"name": "boxes", "source": "Cajas", "type": "integer",
                 "checks": {"allowed": [10, 20, 40]}},
                {"name": "weighed_at", "source": "Pesada", "type": "datetime", "optional": True},
            ],
        }
    ],
}  # fmt: skip
TABLE = Dataset.model_validate(DECLARATION).tables[0]
GOOD = {
    "Parcela": "00123",
    "Fecha": "15/09/2024",
    "Peso": "1.234,5",
    "Variedad": "Kerman",
    "Cajas": "20",
    "Pesada": "2024-09-15 10:30",
}


def clean(*rows: dict[str, str | None]) -> pl.DataFrame:
    raw = pl.DataFrame(list(rows), schema=dict.fromkeys(GOOD, pl.String))
    return cleaning_of(TABLE)(raw.lazy().with_row_index("_row")).collect()


def test_a_good_row_is_typed_as_declared() -> None:
    cleaned = clean(GOOD)
    [row] = valid_rows(cleaned.lazy()).collect().to_dicts()
    assert row == {
        "plot": "00123",
        "day": date(2024, 9, 15),
        "kg": 1234.5,
        "variety": "Kerman",
        "boxes": 20,
        "weighed_at": datetime(2024, 9, 15, 10, 30),
        "_row": 0,
    }
    trusted_schema(TABLE).validate(valid_rows(cleaned.lazy()).drop("_row"))


@pytest.mark.parametrize(
    ("column", "text", "field", "check"),
    [
        ("Parcela", "123", "plot", "pattern:^[0-9]{5}$"),
        ("Parcela", "", "plot", "not_null"),
        ("Fecha", "15/09/1999", "day", "range:2000-01-01..2030-12-31"),
        ("Fecha", "2024-09-15", "day", "type:date"),  # the declared format is dd/mm/yyyy
        ("Peso", "-3", "kg", "range:0..50000"),
        ("Peso", "60.000", "kg", "range:0..50000"),
        ("Peso", "doce", "kg", "type:float64"),
        ("Variedad", "Kerman ", None, None),  # trimmed first: valid
        ("Variedad", "kerman", "variety", "allowed:Kerman|Larnaka|Sirora"),
        ("Cajas", "30", "boxes", "allowed:10|20|40"),
        ("Cajas", "20.0", None, None),  # a whole number written as a float
        ("Pesada", "ayer", "weighed_at", "type:datetime"),
    ],
)
def test_each_check_quarantines_with_its_name_column_and_raw_value(
    column: str, text: str, field: str | None, check: str | None
) -> None:
    cleaned = clean(GOOD, {**GOOD, column: text})
    failed = quarantined_rows(cleaned.lazy(), "trusted.farm_harvest").collect()
    if field is None:
        assert failed.height == 0
        return
    [row] = failed.to_dicts()
    assert (row["row_index"], row["column"], row["check"], row["value"]) == (1, field, check, text)


def test_a_missing_optional_column_is_null_and_checks_still_run() -> None:
    raw = pl.DataFrame([{k: v for k, v in GOOD.items() if k != "Pesada"} | {"Variedad": "X"}])
    cleaned = cleaning_of(TABLE)(raw.lazy().with_row_index("_row")).collect()
    [row] = cleaned.to_dicts()
    assert row["weighed_at"] is None
    assert [e["check"] for e in row["_errors"]] == ["allowed:Kerman|Larnaka|Sirora"]


def test_declared_null_values_count_as_empty() -> None:
    table = TABLE.model_copy(update={"null_values": ("", "-", "s/d")})
    raw = pl.DataFrame([{**GOOD, "Variedad": "s/d", "Peso": " - "}])
    [row] = cleaning_of(table)(raw.lazy()).collect().to_dicts()
    assert row["variety"] is None and row["kg"] is None and row["_errors"] == []


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"name": "x", "source": "X", "type": "string", "checks": {"min": 1}}, "numeric bounds"),
        ({"name": "x", "source": "X", "type": "float", "checks": {"min": "2020-01-01"}}, "date"),
        ({"name": "x", "source": "X", "type": "integer", "checks": {"allowed": ["a"]}}, "number"),
        ({"name": "x", "source": "X", "type": "float", "checks": {"min": 3, "max": 1}}, "greater"),
        ({"name": "x", "source": "X", "type": "date", "decimal": ","}, "decimal applies"),
        ({"name": "x", "source": "X", "type": "float", "parser": "sigpac_enclosure"}, "makes text"),
        ({"name": "x", "source": "X", "parser": "nope"}, "unknown parser"),
        ({"name": "_x", "source": "X"}, "pattern"),
    ],
)
def test_inconsistent_fields_are_refused(field: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dataset.model_validate({"id": "a.b", "tables": [{"fields": [field]}]})

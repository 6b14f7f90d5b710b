"""Inference from real-looking exports: types as a person reading the file would say."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from agrolake.datasets.cleaning import cleaning_of
from agrolake.datasets.declarations import parse_declaration
from agrolake.datasets.infer import declaration_text, guess_type, infer_dataset
from agrolake.datasets.model import Dataset
from agrolake.errors import UsageError
from agrolake.readers import read_frame, read_sample
from agrolake.samples._catalog import FIXED_CREATED

SHOWN = {"name", "type", "decimal", "format", "required", "optional"}


def fields(inferred: Dataset) -> dict[str, dict[str, Any]]:
    return {
        f.source or f.name: f.model_dump(
            include={"name", "type", "decimal", "format", "required", "optional"}
        )
        for f in inferred.tables[0].fields
    }


def quarantined_in_sample(path: Path, dataset: Dataset) -> int:
    """Rows of the sample the inferred declaration would quarantine (none, if right)."""
    sample = read_sample(path, path.name)
    table = dataset.tables[0]
    raw = read_frame(path, sample.read_options, table.sheet)
    cleaned = cleaning_of(table)(raw.with_row_index("_row")).collect()
    return int((cleaned["_errors"].list.len() > 0).sum())


SAMPLES: dict[str, tuple[bytes, dict[str, tuple[str, dict[str, Any]]]]] = {
    # name: (bytes, {raw column: (type, other attributes)})
    "accents_latin1.csv": (
        "Finca;Variedad;Kilos\r\nEl Olivar;Año nuevo;12,5\r\nLa Peña;Guara;7,25\r\n".encode(
            "latin-1"
        ),
        {
            "Finca": ("string", {}),
            "Variedad": ("string", {}),
            "Kilos": ("float", {"decimal": ","}),
        },
    ),
    "semicolons_decimal_commas_latin1.csv": (
        "Parcela;Fecha;Peso (kg);Humedad %;Variedad\r\n"
        "00123;15/09/2024;1.234,5;5,2;Kerman\r\n"
        "00124;16/09/2024;987,25;4,9;Larnaka\r\n".encode("latin-1"),
        {
            "Parcela": ("string", {}),
            "Fecha": ("date", {"format": ("%d/%m/%Y",)}),
            "Peso (kg)": ("float", {"decimal": ","}),
            "Humedad %": ("float", {"decimal": ","}),
            "Variedad": ("string", {}),
        },
    ),
    "bom_tabs_iso_dates.tsv.csv": (
        "\ufeffcode\tday\tlitres\tok\n7\t2024-03-01\t12.5\ttrue\n8\t2024-03-02\t3\tfalse\n".encode(),
        {
            "code": ("integer", {}),
            "day": ("date", {"format": ("%Y-%m-%d",)}),
            "litres": ("float", {"decimal": "auto"}),
            "ok": ("boolean", {}),
        },
    ),
    "pipes_us_dates.csv": (
        b"lote|fecha|cantidad\nA-1|03/25/2024|1,250.75\nA-2|04/30/2024|980.5\n",
        {
            "lote": ("string", {}),
            "fecha": ("date", {"format": ("%m/%d/%Y",)}),
            "cantidad": ("float", {"decimal": "."}),
        },
    ),
    "dotted_dates_and_codes.csv": (
        b"municipio,fecha,parcela,recinto\n050,01.03.2024,0034,1\n073,02.03.2024,0135,12\n",
        {
            "municipio": ("string", {}),
            "fecha": ("date", {"format": ("%d.%m.%Y",)}),
            "parcela": ("string", {}),
            "recinto": ("integer", {}),
        },
    ),
    "mixed_date_forms.csv": (
        b"fecha,riego_m3\n01/03/2024,12\n2024-03-02,15\n03/03/2024,\n",
        {
            "fecha": ("date", {"format": ("%d/%m/%Y", "%Y-%m-%d")}),
            "riego_m3": ("integer", {}),
        },
    ),
    "empty_column_and_markers.csv": (
        b"sensor,valor,nota\nS1,NP,\nS2,3.5,\nS3,NULL,\n",
        {
            "sensor": ("string", {}),
            "valor": ("float", {}),
            "nota": ("string", {"optional": True}),
        },
    ),
    "timestamps.csv": (
        b"sensor;instante;temp\nS1;2024-03-01 10:15:00;12,5\nS1;2024-03-01 10:30:00;13\n",
        {
            "sensor": ("string", {}),
            "instante": ("datetime", {"format": ("%Y-%m-%d %H:%M:%S",)}),
            "temp": ("float", {"decimal": ","}),
        },
    ),
    "si_no_and_long_ids.csv": (
        b"nif,regadio,expediente\n12345678Z,S\xc3\xad,1234567890123456789\n87654321X,No,1234567890123456790\n",
        {
            "nif": ("string", {}),
            "regadio": ("boolean", {}),
            "expediente": ("string", {}),
        },
    ),
    "records.json": (
        json.dumps(
            [
                {"id": "44-4-0-0-34-134-1", "date": "2024-04-01", "ndvi": 0.61},
                {"id": "44-4-0-0-34-134-2", "date": "2024-04-06", "ndvi": 0.58},
            ]
        ).encode(),
        {"id": ("string", {}), "date": ("date", {"format": ("%Y-%m-%d",)}), "ndvi": ("float", {})},
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_types_of_a_tricky_sample(tmp_path: Path, name: str) -> None:
    data, expected = SAMPLES[name]
    path = tmp_path / name
    path.write_bytes(data)
    inferred = infer_dataset(path, "farm.sample").dataset
    assert list(tmp_path.iterdir()) == [path]  # nothing written beside the user's file
    found = fields(inferred)
    assert list(found) == list(expected)
    for column, (kind, attributes) in expected.items():
        assert found[column]["type"] == kind, column
        for attribute, value in attributes.items():
            assert found[column][attribute] == value, (column, attribute)
    assert quarantined_in_sample(path, inferred) == 0


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": FIXED_CREATED})
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if hasattr(value, "year"):
                    sheet.write_datetime(r, c, value, dates)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def test_a_workbook_with_two_sheets_declares_the_one_asked_for(tmp_path: Path) -> None:
    from datetime import datetime

    path = tmp_path / "almacen.xlsx"
    path.write_bytes(
        workbook(
            {
                "Resumen": [["Total", "Kg"], ["A", 10]],
                "Entradas": [
                    ["Fecha", "Código", "Kg", "Precio €"],
                    [datetime(2024, 9, 1), "007", 120, 2.5],
                    [datetime(2024, 9, 2), "012", 80.5, 2.75],
                ],
            }
        )
    )
    with pytest.raises(UsageError, match="sheets: Resumen, Entradas"):
        infer_dataset(path, "farm.store", sheet="Salidas")
    inferred = infer_dataset(path, "farm.store", sheet="Entradas", key=["Fecha", "codigo"])
    table = inferred.dataset.tables[0]
    assert table.sheet == "Entradas" and inferred.sheets == ("Resumen", "Entradas")
    found = fields(inferred.dataset)
    assert found["Fecha"]["type"] == "date"
    assert found["Código"]["type"] == "string", "a code with a leading zero stays text"
    assert found["Kg"]["type"] == "float" and found["Precio €"]["type"] == "float"
    assert table.key == ("fecha", "codigo")
    assert found["Fecha"]["required"] and found["Código"]["required"]
    assert quarantined_in_sample(path, inferred.dataset) == 0
    text = declaration_text(inferred, path.name)
    assert "Other sheets of the sample, not declared here: Resumen" in text
    assert isinstance(parse_declaration("x.yaml", text.encode()), Dataset)


def test_an_unknown_key_column_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="--key 'c' is not a column; columns: a, b"):
        infer_dataset(path, "farm.a", key=["c"])
    with pytest.raises(UsageError, match="cannot declare 'Farm A'"):
        infer_dataset(path, "Farm A")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2", "30"], {"type": "integer"}),
        (["01", "2"], {"type": "string"}),
        (["0", "-3", "+4"], {"type": "integer"}),
        (["1,5", "2"], {"type": "float", "decimal": ","}),
        (["1.5", "2"], {"type": "float"}),
        (["1.5", "2,5"], {"type": "string"}),  # two conventions in one column
        (["1e3", "2.5"], {"type": "float"}),
        (["S", "N"], {"type": "boolean"}),
        (["S", "S"], {"type": "string"}),
        (["2024-01-06 00:00:00", "2024-02-01 00:00:00"], {"type": "date"}),
        (["31/12/24", "01/01/25"], {"type": "date", "format": ("%d/%m/%y",)}),
        ([], {"type": "string"}),
    ],
)
def test_guesses(values: list[str], expected: dict[str, Any]) -> None:
    guessed = guess_type(values)
    assert {k: (tuple(v) if isinstance(v, list) else v) for k, v in guessed.items()} == expected

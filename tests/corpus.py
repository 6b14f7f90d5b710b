"""A corpus of awkward landing files, each with where it must end and why."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from agrolake.samples import (
    ACTIVITY_HEADERS,
    write_activities,
    write_parcels_and_treatments,
    write_wine_quality,
)
from agrolake.samples._catalog import FIXED_CREATED


@dataclass(frozen=True)
class Case:
    key: str
    data: bytes
    status: str  # raw, invalid or duplicate (of an identical file: either may be first)
    code: str | None = None  # the rejection code for invalid files


def _xlsx(sheets: dict[str, list[list[str]]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": FIXED_CREATED})  # same bytes on every run
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def _encrypted(data: bytes) -> bytes:
    import msoffcrypto.format.ooxml

    plain, secret = io.BytesIO(data), io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt("s3cret", secret)
    return secret.getvalue()


def build(folder: Path, *, max_file_bytes: int) -> list[Case]:
    """Write the corpus's inputs under ``folder`` and return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    workbook = write_parcels_and_treatments(folder / "parcelas.xlsx", rows=20, seed=3).read_bytes()
    activities_csv = write_activities(folder / "act.csv", rows=30, seed=3).read_bytes()
    wine_semicolon = write_wine_quality(
        folder / "wine.csv", rows=50, seed=1, delimiter=";", quoted_header=True
    ).read_bytes()
    latin1 = (
        ",".join(ACTIVITY_HEADERS) + "\n"
        '03/04/2024,"PODA - - ",Los Almendros de Peñíscola,50-96-0-0-12-34-1\n'
        '05/04/2024,"ABONADO - Nitrato amónico - 200 kg/ha",Cañada del Álamo,50-96-0-0-12-34-2\n'
    ).encode("latin-1")
    cases = [
        Case("Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx", workbook, "raw"),
        Case("actividades 2024.csv", activities_csv, "raw"),
        Case("año_ñandú/análisis vino.csv", wine_semicolon, "raw"),
        Case("actividades_latin1.csv", latin1, "raw"),
        Case("copia/Recintos (copia).xlsx", workbook, "duplicate"),
        Case("vacio.csv", b"", "invalid", "empty_file"),
        Case("basura.csv", b"\x00\x01\xffPK garbage" * 50, "invalid", "unreadable"),
        Case("truncado.xlsx", workbook[: len(workbook) // 2], "invalid", "unreadable"),
        Case("protegido.xlsx", _encrypted(workbook), "invalid", "encrypted"),
        Case(
            "otra_hoja.xlsx",
            _xlsx({"Resumen": [["Finca", "Total"], ["La Loma", "12"]]}),
            "invalid",
            "unknown_dataset",
        ),
        Case(
            "delimitador.csv",
            activities_csv.replace(b",", b"#"),
            "invalid",
            "unknown_dataset",
        ),
        Case(
            "columnas_repetidas.csv",
            b"FECHA,FECHA,TAREA-PRODUCTO-DOSIS,PARCELA,RECINTO ID\n01/01/2024,x,y,z,w\n",
            "invalid",
            "duplicate_columns",
        ),
        Case(
            "solo_cabecera.csv",
            (",".join(ACTIVITY_HEADERS) + "\n").encode(),
            "invalid",
            "no_rows",
        ),
        Case(
            "Recintos_sin_cosecha.xlsx",
            _xlsx({"Parcelas": [["Provincia Id", "Municipio Id"], ["50", "96"]]}),
            "invalid",
            "missing_columns",
        ),
        Case(
            "grande.csv",
            activities_csv * (max_file_bytes // len(activities_csv) + 1),
            "invalid",
            "too_large",
        ),
    ]
    return cases

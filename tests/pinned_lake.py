"""Pinned rows: every trusted and refined table built from fixed inputs, as digests.

The inputs are the demo files, the landing corpus and a set of files with bad
values (every check of every built-in dataset fails somewhere), landed one file
at a time in a fixed order so ingest order, and with it "the latest ingest wins",
is the same on every run. ``tests/data/pinned_tables.json`` holds, per table,
its row count, column types and one digest per column of the rows sorted on
every column (ingest ids and times left out: they differ per run). A change of
rows shows as the table and columns whose digests moved.

Regenerate only when a change of rows is intended, and read the diff:

    .venv/bin/python -m tests.pinned_lake
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl

from agrolake.lake import Lake
from agrolake.samples import (
    write_activities,
    write_demo_set,
    write_parcels_and_treatments,
    write_wine_quality,
)
from agrolake.samples._catalog import FIXED_CREATED
from tests import corpus

PINNED = Path(__file__).with_name("data") / "pinned_tables.json"
VARYING = {"_ingest_id", "_ingested_at"}  # new on every run


def bad_value_files(folder: Path) -> list[Path]:
    """Files that pass landing but hold rows every kind of trusted check refuses."""
    folder.mkdir(parents=True, exist_ok=True)
    activities = write_activities(folder / "act.csv", rows=12, seed=11).read_text().splitlines()
    activities[2] = "31/02/2024" + activities[2][10:]  # no such day
    activities[3] = activities[3].rsplit(",", 1)[0] + ",50-73-x-0-1-2-3"  # not an enclosure
    activities[4] = ",".join(["", *activities[4].split(",")[1:]])  # no date
    activities[0] += ",Observaciones"  # a new column: schema evolution
    activities[1:] = [line + ",revisar" for line in activities[1:]]
    (folder / "actividades_valores_malos.csv").write_text("\n".join(activities) + "\n")

    wine = write_wine_quality(folder / "w.csv", rows=8, seed=5).read_text().splitlines()
    wine[1] = ",".join(["-1", *wine[1].split(",")[1:]])  # negative acidity
    wine[2] = ",".join([*wine[2].split(",")[:-1], "11"])  # quality over 10
    wine[3] = ",".join(["n/a", *wine[3].split(",")[1:]])  # not a number
    wine[4] = ",".join(['"7,4"', *wine[4].split(",")[1:]])  # decimal comma
    (folder / "winequality_valores_malos.csv").write_text("\n".join(wine) + "\n")

    (folder / "ndvi_valores_malos.csv").write_text(
        "date;enclosure_id;ndvi\n"
        "01/04/2023;50-73-0-0-12-34-1;0,61\n"
        "06/04/2023;50-73-0-0-12-34-1;6100\n"  # a scaled value: out of range
        "11/04/2023;50-73-0-12-34;0,5\n"  # too few parts
        "2023-04-16;50-73-0-0-12-34-1;\n"  # no NDVI
        "16/04/2023;050 - 073-0-0-12-34-01;0,55\n"  # padded: canonical form
    )
    aemet = [
        {"fecha": "2023-04-01", "indicativo": "9434", "nombre": "ZARAGOZA", "provincia": "X",
         "tmed": "12,4", "prec": "Ip", "tmin": "4,1", "horatmin": "Varias", "tmax": "20,7",
         "dir": "99", "velmedia": "3,1"},
        {"fecha": "2023-04-02", "indicativo": "0000X", "nombre": "NADIE", "provincia": "X",
         "tmed": "10,0"},  # a station no location claims
        {"fecha": "2023-04-03", "indicativo": "9434", "nombre": "ZARAGOZA", "provincia": "X",
         "tmed": "ocho", "prec": "-3", "horatmax": "25:70"},
        {"fecha": "03/04/2023", "indicativo": "9434", "nombre": "ZARAGOZA", "provincia": "X",
         "hrMedia": "140"},
    ]  # fmt: skip
    (folder / "aemet_valores_malos.json").write_bytes(
        json.dumps(aemet, ensure_ascii=False).encode("iso8859_15")
    )
    meteo = {
        "location_id": "50-74",
        "latitude": 41.2,
        "longitude": -0.05,
        "daily_units": {"time": "iso8601", "temperature_2m_mean": "K", "precipitation_sum": "mm"},
        "daily": {
            "time": ["2023-05-01", "2023-05-02", "2023-05-03"],
            "temperature_2m_mean": [290.1, None, 291.0],  # an unknown unit
            "precipitation_sum": [0.0, -2.0, 3.5],
        },
    }
    (folder / "open-meteo_valores_malos.json").write_text(json.dumps(meteo))

    workbook = write_parcels_and_treatments(folder / "p.xlsx", rows=6, seed=21)
    parcels = pl.read_excel(workbook, sheet_name="Parcelas", infer_schema_length=0)
    treatments = pl.read_excel(workbook, sheet_name="Tratamientos", infer_schema_length=0)
    parcels = parcels.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("1850")).otherwise("Cosecha")
        .alias("Cosecha"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("150")).otherwise("Pendiente %")
        .alias("Pendiente %"),
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(None)).otherwise("Recinto")
        .alias("Recinto"),
    )  # fmt: skip
    treatments = treatments.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("30/02/2023"))
        .otherwise("MovimientoFechaDeInicio").alias("MovimientoFechaDeInicio"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("-4"))
        .otherwise("MovimientoDosis").alias("MovimientoDosis"),
    )  # fmt: skip
    book = folder / "Recintos_valores_malos.xlsx"
    _write_sheets(book, {"Parcelas": parcels, "Tratamientos": treatments})
    workbook.unlink()
    (folder / "act.csv").unlink()
    (folder / "w.csv").unlink()
    return sorted(p for p in folder.iterdir() if p.is_file())


def _write_sheets(path: Path, sheets: dict[str, pl.DataFrame]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    book.set_properties({"created": FIXED_CREATED})  # same bytes on every run
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, frame.columns)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write_string(r, c, str(value))
    book.close()


def input_files(folder: Path) -> list[tuple[str, bytes]]:
    """Every pinned input as (landing key, bytes), in landing order."""
    demo = [(p.name, p.read_bytes()) for p in write_demo_set(folder / "demo")]
    cases = corpus.build(folder / "corpus", max_file_bytes=512 * 1024 * 1024)
    # Encryption salts every copy anew, and too-large files are never read: left out.
    landed = [
        (f"corpus/{c.key}", c.data) for c in cases if c.code not in ("too_large", "encrypted")
    ]
    bad = [(f"malos/{p.name}", p.read_bytes()) for p in bad_value_files(folder / "malos")]
    return demo + landed + bad


def input_digests(folder: Path) -> dict[str, str]:
    """The inputs' digests: when these move, the generators changed, not the zones."""
    return {key: hashlib.sha256(data).hexdigest()[:16] for key, data in input_files(folder)}


def build_tables(lake: Lake, folder: Path) -> dict[str, pl.DataFrame]:
    """Land every input one by one, take them through every zone, read every table."""
    from agrolake.datasets.registry import load_registry
    from agrolake.pipeline import run_all as run
    from agrolake.zones.landing import process_landing

    for key, data in input_files(folder):
        lake.store.put("landing", key, data)
        process_landing(lake)
    run(lake)
    found = {}
    for ref in load_registry(lake.settings).table_refs():
        data = lake.tables.read(ref)
        if data is not None:
            frame = pl.from_arrow(data)
            assert isinstance(frame, pl.DataFrame)
            found[ref.sql_name] = frame
    return found


def digests(tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Per table: rows, column types and a digest per column of the sorted rows."""
    found: dict[str, Any] = {}
    for name, frame in sorted(tables.items()):
        kept = sorted(c for c in frame.columns if c not in VARYING)
        rows = frame.select(kept)
        # Every value as text (lists and structs as JSON), rows sorted on all of them.
        # Floats to 12 significant digits: a mean's last bits depend on summation order.
        text = rows.select(_as_text(c, rows.schema[c]) for c in kept)
        order = text.with_row_index("__i").sort(kept, nulls_last=True)["__i"]
        ordered = text[order]
        found[name] = {
            "rows": frame.height,
            "columns": {c: str(rows.schema[c]) for c in kept},
            "digests": {c: _digest(ordered[c]) for c in kept},
        }
    return found


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_nested():
        return pl.struct(column).struct.json_encode().alias(column)
    if dtype.is_float():
        return pl.col(column).round_sig_figs(12).cast(pl.String)
    return pl.col(column).cast(pl.String)


def _digest(column: pl.Series) -> str:
    buffer = io.StringIO()
    for value in column.to_list():
        buffer.write("\0" if value is None else value)
        buffer.write("\n")
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()[:16]


def main() -> None:
    import tempfile

    from agrolake.lake.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake(Settings(home=Path(folder) / "home", train_on_run=False))
        lake.init()
        try:
            pinned = {
                "inputs": input_digests(Path(folder) / "inputs"),
                "tables": digests(build_tables(lake, Path(folder) / "build")),
            }
        finally:
            lake.close()
    PINNED.parent.mkdir(parents=True, exist_ok=True)
    PINNED.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n")
    shown = ", ".join(f"{name} ({facts['rows']})" for name, facts in pinned["tables"].items())
    print(f"wrote {PINNED}: {shown}")


if __name__ == "__main__":
    sys.exit(main())

"""Field activities exports (PYSTACIL style) and a large CSV for benchmarks."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from agrolake.samples import _catalog as cat
from agrolake.samples.parcels import Parcel, make_parcels

ACTIVITY_HEADERS = ["FECHA", "TAREA-PRODUCTO-DOSIS", "PARCELA", "RECINTO ID"]

# (task, [(product, dose, unit)] or None for tasks without product, months).
TASKS: list[tuple[str, list[tuple[str, float, str]] | None, tuple[int, ...]]] = [
    ("PODA", None, (12, 1, 2)),
    ("TRITURADO RESTOS DE PODA", None, (2, 3)),
    (
        "ABONADO",
        [
            ("NPK 15-15-15", 300, "kg/ha"),
            ("NITRATO AMÓNICO CÁLCICO 27%", 200, "kg/ha"),
            ("SULFATO POTÁSICO 50%", 150, "kg/ha"),
        ],
        (2, 3, 4),
    ),
    (
        "FERTIRRIGACIÓN",
        [("UREA 46%", 40, "kg/ha"), ("ÁCIDO FOSFÓRICO 75%", 15, "l/ha")],
        (4, 5, 6, 7),
    ),
    ("RIEGO", [("", 25, "m3/ha"), ("", 40, "m3/ha"), ("", 60, "m3/ha")], (4, 5, 6, 7, 8, 9)),
    ("TRATAMIENTO", [(p[1], p[4][0], p[6]) for p in cat.PRODUCTS if p[3] != "H"], (1, 3, 4, 5, 6)),
    ("HERBICIDA", [(p[1], p[4][0], p[6]) for p in cat.PRODUCTS if p[3] == "H"], (3, 4, 10)),
    ("LABOREO", None, (3, 5, 10)),
    ("RECOLECCIÓN", None, (8, 9)),
]

Fmt = Literal["xlsx", "csv"]


def _dose(rng: random.Random, base: float) -> str:
    # Spanish exports write decimals with a comma ("0,5 l/ha"): CSV must quote them.
    value = round(base * rng.choice([0.75, 1.0, 1.0, 1.25, 1.5]), 2)
    return f"{value:g}".replace(".", ",")


def _activity(rng: random.Random, parcel: Parcel, year: int) -> tuple[date, str, str, str]:
    task, products, months = rng.choice(TASKS)
    month = rng.choice(months)
    day = date(year, month, 1) + timedelta(days=rng.randrange(28))
    if products is None:
        label = task
    else:
        product, base, unit = rng.choice(products)
        # An empty product keeps its slot, single-spaced: "RIEGO - - 25 m3/ha".
        middle = f" {product} " if product else " "
        label = f"{task} -{middle}- {_dose(rng, base)} {unit}"
    return day, label, f"{parcel.paraje.upper()} {parcel.parcel}", parcel.recinto_id


def _activity_rows(
    rng: random.Random, pool: list[Parcel], rows: int, years: tuple[int, ...] = (2023, 2024)
) -> list[list[str]]:
    acts = sorted(
        (_activity(rng, rng.choice(pool), rng.choice(years)) for _ in range(rows)),
        key=lambda a: a[0],
    )
    return [[d.strftime("%d/%m/%Y"), label, name, rid] for d, label, name, rid in acts]


def _pool(seed: int, rows: int) -> list[Parcel]:
    # Few enclosures with several tasks each, as in a real farm diary; they are the
    # first parcels of the same seed's parcels workbook.
    return make_parcels(seed, max(1, min(rows // 4, 40)))


def _csv_bytes(rows: list[list[str]], header: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header:
        writer.writerow(ACTIVITY_HEADERS)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _resolve_fmt(path: Path, fmt: Fmt | None) -> Fmt:
    if fmt is not None:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv"):
        raise ValueError(f"cannot tell the format from {path.name!r}; pass fmt='xlsx' or 'csv'")
    return suffix  # type: ignore[return-value]


def write_activities(
    path: Path, *, rows: int, seed: int, fmt: Fmt | None = None, _parcel_seed: int | None = None
) -> Path:
    """Write a field activities export (source PYSTACIL) with ``rows`` rows.

    Columns: FECHA (dd/mm/yyyy text), TAREA-PRODUCTO-DOSIS ("PODA",
    "ABONADO - NPK 15-15-15 - 300 kg/ha", "RIEGO - - 25 m3/ha"...), PARCELA (a
    parcel label) and RECINTO ID (SIGPAC ``prov-mun-agg-zone-pol-parcel-enclosure``
    of an enclosure from the parcels workbook of the same seed). ``fmt`` defaults
    to the file suffix: xlsx (sheet ``Hoja1``, all text cells) or UTF-8 CSV.
    ``_parcel_seed`` lets the demo reuse one seed's parcels with other rows.
    """
    path = Path(path)
    rng = random.Random(f"{seed}:activities")
    rows_ = _activity_rows(rng, _pool(seed if _parcel_seed is None else _parcel_seed, rows), rows)
    if _resolve_fmt(path, fmt) == "xlsx":
        return cat.write_xlsx(path, [("Hoja1", ACTIVITY_HEADERS, rows_)])
    path.write_bytes(_csv_bytes(rows_, header=True))
    return path


def write_bulk_csv(path: Path, *, target_bytes: int, seed: int) -> Path:
    """Stream a large activities CSV of about ``target_bytes``.

    The file never exceeds ``target_bytes`` (except that the header is always
    written whole) and ends on a whole line, within one row of the target.
    Rows are generated once per campaign year (a few thousand); each written
    chunk is one of those blocks rotated at a random row, so output runs at
    disk speed without building the file in memory, yet chunks still differ.
    """
    path = Path(path)
    rng = random.Random(f"{seed}:bulk")
    pool = make_parcels(seed, 500)
    blocks = []
    for year in (2021, 2022, 2023, 2024):
        data = _csv_bytes(_activity_rows(rng, pool, 4096, years=(year,)), header=False)
        starts = [0, *(i + 1 for i, b in enumerate(data) if b == 0x0A)][:-1]
        blocks.append((data, starts))
    header = _csv_bytes([], header=True)
    with path.open("wb") as out:
        written = out.write(header)
        while written < target_bytes:
            data, starts = blocks[rng.randrange(len(blocks))]
            cut = starts[rng.randrange(len(starts))]
            chunk = data[cut:] + data[:cut]
            room = target_bytes - written
            if len(chunk) > room:
                chunk = chunk[: chunk.rfind(b"\n", 0, room) + 1]
                if not chunk:
                    break
            written += out.write(chunk)
    return path

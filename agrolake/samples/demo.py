"""Deliberately bad files and the small demo set that mixes them with good ones."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from pathlib import Path

from agrolake.datasets.builtin.weather_open_meteo_daily import OPEN_METEO_DAILY
from agrolake.datasets.locations import shipped_locations
from agrolake.samples.activities import ACTIVITY_HEADERS, write_activities
from agrolake.samples.ndvi import write_ndvi_csv, write_ndvi_service
from agrolake.samples.parcels import make_parcels, write_parcels_and_treatments
from agrolake.samples.weather import write_aemet_daily, write_open_meteo_daily
from agrolake.samples.wine import write_wine_quality

INVENTORY_HEADERS = [
    "Código artículo",
    "Descripción",
    "Familia",
    "Stock",
    "Unidad",
    "Almacén",
    "Precio medio €",
]
INVENTORY_ITEMS = [
    ("Saco NPK 15-15-15 25 kg", "Fertilizantes", "saco"),
    ("Garrafa glifosato 36% 20 l", "Fitosanitarios", "garrafa"),
    ("Tijera de poda eléctrica", "Herramienta", "ud"),
    ("Gotero autocompensante 4 l/h", "Riego", "ud"),
    ("Tubería PE 16 mm (rollo 400 m)", "Riego", "rollo"),
    ("Guantes nitrilo talla L", "EPI", "caja"),
    ("Malla recolección almendra 8x12 m", "Recolección", "ud"),
    ("Gasóleo agrícola B", "Combustible", "l"),
]


def _inventory_csv(rng: random.Random) -> bytes:
    # An unrelated ERP stock export: plausible CSV, matches no agrolake dataset.
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(INVENTORY_HEADERS)
    for i, (name, family, unit) in enumerate(INVENTORY_ITEMS * 3):
        writer.writerow(
            [
                f"ART-{1000 + i}",
                name,
                family,
                rng.randint(0, 400),
                unit,
                rng.choice(["Nave 1", "Nave 2", "Caseta riego"]),
                f"{rng.uniform(0.8, 250):.2f}".replace(".", ","),
            ]
        )
    return buf.getvalue().encode("utf-8")


def write_bad_files(folder: Path, *, seed: int) -> list[Path]:
    """Write five files that must each fail ingestion for a different reason.

    In order: an unrelated inventory CSV (matches no dataset), a parcels
    workbook whose ``Parcelas`` sheet lacks the required ``Recinto`` and
    ``Cosecha`` columns, a header-only activities CSV, a zero-byte file and
    binary garbage named ``.csv``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:bad")
    inventory = folder / "inventario_almacen_2024.csv"
    inventory.write_bytes(_inventory_csv(rng))
    incomplete = write_parcels_and_treatments(
        folder / "Recintos_Almendros_sin_recinto.xlsx",
        rows=12,
        seed=seed,
        _drop=("Recinto", "Cosecha"),
    )
    header_only = folder / "actividades_solo_cabecera.csv"
    header_only.write_text(",".join(ACTIVITY_HEADERS) + "\n", encoding="utf-8")
    empty = folder / "exportacion_vacia.csv"
    empty.write_bytes(b"")
    garbage = folder / "tratamientos_corrupto.csv"
    # NUL and 0xFF guarantee it is neither text nor UTF-8, whatever the random tail.
    garbage.write_bytes(b"\x00\xff\xfe\x89" + rng.randbytes(4092))
    return [inventory, incomplete, header_only, empty, garbage]


def write_weather_and_ndvi(folder: Path, *, seed: int = 7, parcels: int = 40) -> list[Path]:
    """The weather and NDVI of the demo's enclosures, as their sources deliver them.

    Two AEMET climatology files (every station of the shipped locations,
    growing seasons 2021-2022 and 2023-2024), Open-Meteo answers for the two
    municipalities no station stands for (as the weather flow lands them), an
    NDVI CSV for every enclosure's season but the first, and the teledetection
    service's answer for the first.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_aemet_daily(
            folder / "aemet_valores_climatologicos_2021-2022.json",
            date(2021, 1, 1), date(2022, 12, 31), seed=seed,
        ),
        write_aemet_daily(
            folder / "aemet_valores_climatologicos_2023-2024.json",
            date(2023, 1, 1), date(2024, 12, 31), seed=seed,
        ),
    ]  # fmt: skip
    start, end = date(2021, 3, 1), date(2024, 10, 31)
    for location in shipped_locations():
        if not location.aemet_station:
            name = f"open-meteo_{location.location_id}_{start}_{end}.json"
            written.append(
                write_open_meteo_daily(
                    folder / name, location, start, end, list(OPEN_METEO_DAILY), seed=seed
                )
            )
    first, *rest = make_parcels(seed, parcels)
    written.append(write_ndvi_csv(folder / "ndvi_recintos.csv", rest, seed=seed))
    season = date(first.harvest, 3, 1), date(first.harvest, 10, 31)
    name = f"ndvi_{first.recinto_id}_{season[0]}_{season[1]}.json"
    written.append(write_ndvi_service(folder / name, first.recinto_id, *season, seed=seed))
    return written


def write_demo_set(folder: Path, *, seed: int = 7) -> list[Path]:
    """Write a small landing-zone demo: good files of every dataset plus the bad files.

    One parcels + treatments workbook (40 parcels), an activities xlsx and csv
    (referring to enclosures of that workbook), the full wine CSV in comma
    form, a semicolon / quoted-header wine subset (UCI form), the weather and
    NDVI of those enclosures (:func:`write_weather_and_ndvi`) and
    :func:`write_bad_files`. Returns every path written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = [
        write_parcels_and_treatments(
            folder / "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx", rows=40, seed=seed
        ),
        write_activities(folder / "Actividades_PYSTACIL.xlsx", rows=120, seed=seed),
        # Other rows than the xlsx, same enclosures: two exports of one farm diary.
        write_activities(
            folder / "actividades_pystacil_export.csv", rows=80, seed=seed + 1, _parcel_seed=seed
        ),
        write_wine_quality(folder / "winequality-red.csv"),
        write_wine_quality(
            folder / "winequality-red-uci-subset.csv",
            rows=400,
            seed=seed,
            delimiter=";",
            quoted_header=True,
        ),
        *write_weather_and_ndvi(folder, seed=seed),
    ]
    return good + write_bad_files(folder, seed=seed)

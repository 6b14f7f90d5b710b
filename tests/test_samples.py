"""Tests for the deterministic sample file generators in agrolake.samples."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from agrolake.datasets.locations import shipped_locations
from agrolake.samples import (
    ACTIVITY_HEADERS,
    PARCEL_HEADERS,
    STATIONS,
    TREATMENT_HEADERS,
    WINE_COLUMNS,
    open_meteo_answer,
    write_activities,
    write_aemet_daily,
    write_bad_files,
    write_bulk_csv,
    write_demo_set,
    write_ndvi_csv,
    write_parcels_and_treatments,
    write_wine_quality,
)
from agrolake.samples.parcels import make_parcels

EXPECTED_PARCEL_HEADERS = [
    "ProductorNIF",
    "Cosecha",
    "Provincia Id",
    "Municipio Id",
    "Poligono",
    "Parcela",
    "Recinto",
    "Paraje",
    "Agregado",
    "Zona",
    "OrdenPAC",
    "SubOrdenPac",
    "SuperficieSIGPAC",
    "SuperficieCultivo",
    "Cultivo Id",
    "ParcelaVariedad Id",
    "SistemaDeRiego",
    "RegimenTenenciaId",
    "AñoPlantacion",
    "Nº Arboles",
    "Marcoplantacionh",
    "Marcoplantacionv",
    "Densidaddesiembra",
    "ATRIA / ADV / ASV",
    "ZonaVulnerable",
    "ZonaEspecifica",
    "UsoParcela",
    "Asesoramiento",
    "Pendiente %",
    "UHC",
    "Descripción UHC",
    "Zona Zepa",
    "Zona SIE",
]
EXPECTED_TREATMENT_HEADERS = [
    "MovimientoCosecha",
    "MovimientoFechaDeInicio",
    "Producto",
    "ProductoNombre",
    "Formulado",
    "TratamientosPlagaEfectosEnPlagasId",
    "EfectosEnPlagas",
    "TratamientosPlagaMalasHierbasId",
    "SecUserNombre",
    "SecUserNIF",
    "SecUserId",
    "ParcelaProvinciaId",
    "ParcelaMunicipioId",
    "ParcelaPoligono",
    "Parcela",
    "ParcelaRecinto",
    "ParcelaParaje",
    "ParcelaAgregado",
    "ParcelaZona",
    "ParcelaCosechaCodigoPAC",
    "ParcelaCosechaCultivoPAC",
    "Caldo",
    "TipoDeDosisId",
    "TipoDeDosisDetalle",
    "MovimientoParcelaSuperficieTratada",
    "Cantidad",
    "MovimientoPlazoDeSeguridad",
    "MovimientoDosis",
    "ParcelaSuperficieCultivo",
    "ParcelaSuperficieSIGPAC",
    "ParcelaZonaVulnerable",
    "UsoDeParcelasId",
]
UCI_COLUMNS = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
    "quality",
]
NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
RECINTO_RE = re.compile(r"^\d+-\d+-\d+-\d+-\d+-\d+-\d+$")
PARCEL_KEY = [
    "Provincia Id",
    "Municipio Id",
    "Agregado",
    "Zona",
    "Poligono",
    "Parcela",
    "Recinto",
    "Cosecha",
]
TREATMENT_KEY = [
    "ParcelaProvinciaId",
    "ParcelaMunicipioId",
    "ParcelaAgregado",
    "ParcelaZona",
    "ParcelaPoligono",
    "Parcela",
    "ParcelaRecinto",
    "MovimientoCosecha",
]
MISSING = {"NP", "NULL", None}


def _sheets(path: Path) -> dict[str, pl.DataFrame]:
    return pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=None)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx"
    return write_parcels_and_treatments(path, rows=300, seed=11)


@pytest.fixture(scope="module")
def sheets(workbook: Path) -> dict[str, pl.DataFrame]:
    return _sheets(workbook)


# --- parcels and treatments -------------------------------------------------------------


def test_parcels_workbook_is_deterministic(tmp_path: Path) -> None:
    a = write_parcels_and_treatments(tmp_path / "a.xlsx", rows=50, seed=3).read_bytes()
    b = write_parcels_and_treatments(tmp_path / "b.xlsx", rows=50, seed=3).read_bytes()
    c = write_parcels_and_treatments(tmp_path / "c.xlsx", rows=50, seed=4).read_bytes()
    assert a == b
    assert a != c


def test_workbook_metadata_has_fixed_timestamp(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as zf:
        core = zf.read("docProps/core.xml").decode()
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())
    assert "2024-01-01T00:00:00Z" in core


def test_headers_are_exact(workbook: Path, sheets: dict[str, pl.DataFrame]) -> None:
    assert fastexcel.read_excel(str(workbook)).sheet_names == ["Parcelas", "Tratamientos"]
    assert sheets["Parcelas"].columns == EXPECTED_PARCEL_HEADERS == PARCEL_HEADERS
    assert sheets["Tratamientos"].columns == EXPECTED_TREATMENT_HEADERS == TREATMENT_HEADERS


def test_parcels_values_are_plausible(sheets: dict[str, pl.DataFrame]) -> None:
    parcels = sheets["Parcelas"]
    assert parcels.height == 300
    for nif in parcels["ProductorNIF"]:
        assert re.fullmatch(r"\d{8}[A-Z]", nif)
        assert NIF_LETTERS[int(nif[:8]) % 23] == nif[8]
    assert set(parcels["Cosecha"]) <= {2021, 2022, 2023, 2024}
    assert set(parcels["Provincia Id"]) == {50, 22, 44, 30, 2}
    assert (parcels["SuperficieCultivo"] <= parcels["SuperficieSIGPAC"]).all()
    assert (parcels["SuperficieCultivo"] > 0).all()
    assert parcels.select(PARCEL_KEY).is_unique().all()
    assert (parcels["AñoPlantacion"] < parcels["Cosecha"]).all()
    # Mostly almond, with a few other woody crops.
    crops = parcels["Cultivo Id"].value_counts().sort("count", descending=True)
    assert crops["Cultivo Id"][0] == 104 and crops.height > 1
    assert {"Guara", "Marcona"} <= set(parcels["ParcelaVariedad Id"])
    assert set(parcels["ZonaVulnerable"]) <= {"S", "N"}
    # Trees follow cultivated area and planting frame (up to ~8 % failed trees).
    expected = (
        parcels["SuperficieCultivo"]
        * 10_000
        / (parcels["Marcoplantacionh"] * parcels["Marcoplantacionv"])
    )
    big = expected > 50
    ratio = (parcels["Nº Arboles"] / expected).filter(big)
    assert ratio.is_between(0.9, 1.01).all()


def test_missing_markers_only_in_optional_columns(sheets: dict[str, pl.DataFrame]) -> None:
    parcels = sheets["Parcelas"]
    markers = 0
    for col in ("Paraje", "Pendiente %", "UHC", "Asesoramiento", "Zona SIE"):
        values = [None if v is None else str(v) for v in parcels[col]]
        markers += sum(v in MISSING for v in values)
    assert 0 < markers < 0.15 * 5 * parcels.height  # sprinkled, at a low rate
    for col in (
        "ProductorNIF",
        "Cosecha",
        "Provincia Id",
        "Municipio Id",
        "Poligono",
        "Parcela",
        "Recinto",
        "SuperficieSIGPAC",
        "SuperficieCultivo",
        "Cultivo Id",
    ):
        assert parcels[col].null_count() == 0, col
        assert not parcels[col].cast(pl.String).is_in(["NP", "NULL"]).any(), col


def test_treatments_refer_to_existing_parcels(sheets: dict[str, pl.DataFrame]) -> None:
    parcels, treatments = sheets["Parcelas"], sheets["Tratamientos"]
    renamed = treatments.rename(dict(zip(TREATMENT_KEY, PARCEL_KEY, strict=True)))
    assert renamed.join(parcels, on=PARCEL_KEY, how="anti").height == 0
    per_parcel = renamed.group_by(PARCEL_KEY).len()
    assert per_parcel.height == parcels.height  # every parcel got treated
    assert per_parcel["len"].is_between(1, 4).all()
    joined = renamed.join(parcels, on=PARCEL_KEY, how="inner")
    assert (joined["ParcelaSuperficieCultivo"] == joined["SuperficieCultivo"]).all()
    assert (joined["ParcelaSuperficieSIGPAC"] == joined["SuperficieSIGPAC"]).all()
    assert (joined["ParcelaCosechaCodigoPAC"] == joined["Cultivo Id"]).all()


def test_treatment_values_are_plausible(sheets: dict[str, pl.DataFrame]) -> None:
    t = sheets["Tratamientos"]
    assert t.schema["MovimientoFechaDeInicio"] in (pl.Date, pl.Datetime)  # real Excel dates
    assert (t["MovimientoFechaDeInicio"].dt.year() == t["MovimientoCosecha"]).all()
    assert (t["MovimientoParcelaSuperficieTratada"] <= t["ParcelaSuperficieCultivo"]).all()
    assert (t["MovimientoParcelaSuperficieTratada"] > 0).all()
    assert (t["MovimientoDosis"] > 0).all()
    cantidad = t["MovimientoDosis"] * t["MovimientoParcelaSuperficieTratada"]
    assert ((t["Cantidad"] - cantidad).abs() < 0.01).all()
    names = " ".join(t["ProductoNombre"].unique())
    for product in ("COBRE", "AZUFRE", "GLIFOSATO", "DELTAMETRINA"):
        assert product in names
    assert set(t["TipoDeDosisDetalle"]) <= {"kg/ha", "l/ha"}
    # Herbicides name a weed id, the rest a pest id: exactly one of the two.
    pest, weed = t["TratamientosPlagaEfectosEnPlagasId"], t["TratamientosPlagaMalasHierbasId"]
    assert (pest.is_null() ^ weed.is_null()).all()
    for nif in t["SecUserNIF"]:
        assert NIF_LETTERS[int(nif[:8]) % 23] == nif[8]


# --- activities ---------------------------------------------------------------------------


def _parse_fecha(values: pl.Series) -> None:
    for v in values:
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", v), v
        datetime.strptime(v, "%d/%m/%Y")


def test_activities_csv(tmp_path: Path) -> None:
    path = write_activities(tmp_path / "actividades.csv", rows=200, seed=5)
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ACTIVITY_HEADERS == ["FECHA", "TAREA-PRODUCTO-DOSIS", "PARCELA", "RECINTO ID"]
    assert len(rows) == 201 and all(len(r) == 4 for r in rows)
    df = pl.read_csv(path, infer_schema=False)
    assert df.columns == ACTIVITY_HEADERS and df.height == 200
    _parse_fecha(df["FECHA"])
    assert all(RECINTO_RE.match(r) for r in df["RECINTO ID"])
    tasks = set(df["TAREA-PRODUCTO-DOSIS"])
    assert "PODA" in tasks
    assert any(re.fullmatch(r"ABONADO - .+ - [\d,]+ kg/ha", t) for t in tasks)
    assert any(re.fullmatch(r"RIEGO - - [\d,]+ m3/ha", t) for t in tasks)
    assert write_activities(tmp_path / "again.csv", rows=200, seed=5).read_bytes() == raw
    assert write_activities(tmp_path / "other.csv", rows=200, seed=6).read_bytes() != raw


def test_activities_xlsx(tmp_path: Path) -> None:
    path = write_activities(tmp_path / "Actividades.xlsx", rows=150, seed=5)
    assert fastexcel.read_excel(str(path)).sheet_names == ["Hoja1"]
    df = pl.read_excel(path, sheet_name="Hoja1", engine="calamine")
    assert df.columns == ACTIVITY_HEADERS and df.height == 150
    assert df.schema["FECHA"] == pl.String  # text, as the source system writes it
    _parse_fecha(df["FECHA"])
    assert write_activities(tmp_path / "b.xlsx", rows=150, seed=5).read_bytes() == path.read_bytes()
    # Explicit fmt wins over the suffix; an unknown suffix needs it.
    forced = write_activities(tmp_path / "export.txt", rows=10, seed=5, fmt="csv")
    assert forced.read_text(encoding="utf-8").startswith("FECHA,")
    with pytest.raises(ValueError):
        write_activities(tmp_path / "export.txt", rows=10, seed=5)


def test_activities_point_at_parcels_of_same_seed(tmp_path: Path) -> None:
    wb = _sheets(write_parcels_and_treatments(tmp_path / "p.xlsx", rows=40, seed=9))["Parcelas"]
    ids = {
        "-".join(str(v) for v in row)
        for row in wb.select(
            ["Provincia Id", "Municipio Id", "Agregado", "Zona", "Poligono", "Parcela", "Recinto"]
        ).iter_rows()
    }
    acts = pl.read_csv(write_activities(tmp_path / "a.csv", rows=120, seed=9), infer_schema=False)
    assert set(acts["RECINTO ID"]) <= ids


# --- wine -----------------------------------------------------------------------------------


def test_wine_comma_form(tmp_path: Path) -> None:
    path = write_wine_quality(tmp_path / "winequality-red.csv")
    df = pl.read_csv(path)
    assert df.shape == (1599, 12)
    assert df.columns == UCI_COLUMNS == WINE_COLUMNS
    assert df["quality"].is_between(3, 8).all()
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(UCI_COLUMNS)
    # The comma form of the whole data set is the shipped file itself, byte for byte.
    shipped = resources.files("agrolake").joinpath("data/wine_quality/winequality-red.csv")
    assert path.read_bytes() == shipped.read_bytes()


def test_wine_uci_semicolon_quoted_form(tmp_path: Path) -> None:
    path = write_wine_quality(tmp_path / "uci.csv", delimiter=";", quoted_header=True)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('"fixed acidity";"volatile acidity";')
    df = pl.read_csv(path, separator=";")
    assert df.shape == (1599, 12) and df.columns == UCI_COLUMNS
    plain = pl.read_csv(write_wine_quality(tmp_path / "plain.csv"))
    assert df.equals(plain)


def test_wine_subset_and_resample(tmp_path: Path) -> None:
    full = pl.read_csv(write_wine_quality(tmp_path / "full.csv"))
    a = write_wine_quality(tmp_path / "a.csv", rows=100, seed=1)
    b = write_wine_quality(tmp_path / "b.csv", rows=100, seed=1)
    c = write_wine_quality(tmp_path / "c.csv", rows=100, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    sub = pl.read_csv(a)
    assert sub.height == 100 and sub.join(full, on=UCI_COLUMNS, how="anti").height == 0
    big = pl.read_csv(write_wine_quality(tmp_path / "big.csv", rows=2500, seed=1))
    assert big.height == 2500 and big.join(full, on=UCI_COLUMNS, how="anti").height == 0


# --- bad files and demo set ----------------------------------------------------------------


def test_bad_files_are_what_they_claim(tmp_path: Path) -> None:
    inventory, incomplete, header_only, empty, garbage = write_bad_files(tmp_path, seed=1)
    inv = pl.read_csv(inventory)
    assert inv.height > 0
    known = set(PARCEL_HEADERS) | set(TREATMENT_HEADERS) | set(ACTIVITY_HEADERS) | set(UCI_COLUMNS)
    assert not set(inv.columns) & known

    wb = _sheets(incomplete)
    assert set(wb) == {"Parcelas", "Tratamientos"}
    assert set(PARCEL_HEADERS) - set(wb["Parcelas"].columns) == {"Recinto", "Cosecha"}
    assert wb["Parcelas"].height > 0

    assert header_only.read_text(encoding="utf-8") == ",".join(ACTIVITY_HEADERS) + "\n"
    only = pl.read_csv(header_only)
    assert only.columns == ACTIVITY_HEADERS and only.height == 0

    assert empty.stat().st_size == 0

    blob = garbage.read_bytes()
    assert garbage.suffix == ".csv" and len(blob) > 1000 and b"\x00" in blob
    with pytest.raises(UnicodeDecodeError):
        blob.decode("utf-8")

    again = write_bad_files(tmp_path / "again", seed=1)
    for p, q in zip([inventory, incomplete, header_only, empty, garbage], again, strict=True):
        assert p.name == q.name and p.read_bytes() == q.read_bytes()


def test_demo_set(tmp_path: Path) -> None:
    paths = write_demo_set(tmp_path / "one")
    names = {p.name for p in paths}
    assert len(paths) == 16 and len(names) == 16 and all(p.exists() for p in paths)
    assert {p.suffix for p in paths} == {".csv", ".xlsx", ".json"}
    wb = _sheets(tmp_path / "one" / "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx")
    assert wb["Parcelas"].height == 40
    ids = {
        "-".join(str(v) for v in row)
        for row in wb["Parcelas"]
        .select(
            ["Provincia Id", "Municipio Id", "Agregado", "Zona", "Poligono", "Parcela", "Recinto"]
        )
        .iter_rows()
    }
    xlsx = [p for p in paths if p.suffix == ".xlsx" and p.name.startswith("Actividades")]
    csvs = [p for p in paths if p.name.startswith("actividades_pystacil")]
    assert len(xlsx) == 1 and len(csvs) == 1
    for acts in (pl.read_excel(xlsx[0], engine="calamine"), pl.read_csv(csvs[0])):
        assert set(acts["RECINTO ID"]) <= ids
    subset = [p for p in paths if "uci" in p.name]
    assert len(subset) == 1
    assert subset[0].read_text(encoding="utf-8").startswith('"fixed acidity";')
    again = write_demo_set(tmp_path / "two")
    assert [p.name for p in again] == [p.name for p in paths]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(paths, again, strict=True))


# --- bulk CSV -------------------------------------------------------------------------------


def test_bulk_csv_size_and_shape(tmp_path: Path) -> None:
    target = 3_000_000
    path = write_bulk_csv(tmp_path / "bulk.csv", target_bytes=target, seed=2)
    size = path.stat().st_size
    assert target - 200 < size <= target
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    df = pl.read_csv(path, infer_schema=False)
    assert df.columns == ACTIVITY_HEADERS and df.height > 30_000
    assert df.null_count().sum_horizontal().item() == 0
    parsed = df["FECHA"].str.to_date("%d/%m/%Y", strict=True)
    assert parsed.dt.year().is_between(2021, 2024).all()
    assert df["RECINTO ID"].str.contains(r"^\d+-\d+-\d+-\d+-\d+-\d+-\d+$").all()
    assert write_bulk_csv(tmp_path / "again.csv", target_bytes=target, seed=2).read_bytes() == raw
    assert write_bulk_csv(tmp_path / "other.csv", target_bytes=target, seed=3).read_bytes() != raw


# --- weather and NDVI ----------------------------------------------------------------------


def test_aemet_file_has_what_real_ones_have(tmp_path: Path) -> None:
    path = write_aemet_daily(tmp_path / "aemet.json", date(2023, 1, 1), date(2024, 12, 31))
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    records = json.loads(raw.decode("iso8859_15"))
    days = (date(2023, 10, 31) - date(2023, 3, 1)).days + 1
    assert len(records) == 2 * days * len(STATIONS), "two growing seasons, every station"
    assert {r["fecha"][5:7] for r in records} == {f"{m:02d}" for m in range(3, 11)}
    assert {r["indicativo"] for r in records} == set(STATIONS)
    assert "ALBACETE, BASE AÉREA" in {r["nombre"] for r in records}
    assert all(set(r) >= {"fecha", "indicativo", "nombre", "provincia", "altitud"} for r in records)
    values = [r.get(k) for r in records for k in ("tmed", "tmin", "tmax", "velmedia")]
    assert all(v is None or re.fullmatch(r"-?\d+,\d", v) for v in values), "decimal commas"
    precipitation = {r["prec"] for r in records}
    assert {"Ip", "Acum"} <= precipitation
    assert "Varias" in {r["horatmin"] for r in records} | {r["horaracha"] for r in records}
    assert "99" in {r["dir"] for r in records}
    assert any("sol" not in r for r in records) and any("tmed" not in r for r in records)
    again = write_aemet_daily(tmp_path / "again.json", date(2023, 1, 1), date(2024, 12, 31))
    assert again.read_bytes() == raw


def test_open_meteo_answer_has_the_documented_shape() -> None:
    [place] = [p for p in shipped_locations() if p.location_id == "44-4"]
    daily = ["temperature_2m_max", "precipitation_sum", "wind_speed_10m_max"]
    answer = open_meteo_answer(place, date(2024, 3, 1), date(2024, 3, 10), daily, pending_days=2)
    assert {"latitude", "longitude", "elevation", "timezone", "daily_units", "daily"} <= set(answer)
    assert answer["daily_units"] == {
        "time": "iso8601", "temperature_2m_max": "°C", "precipitation_sum": "mm",
        "wind_speed_10m_max": "m/s",
    }  # fmt: skip
    assert set(answer["daily"]) == {"time", *daily}
    assert {len(v) for v in answer["daily"].values()} == {10}
    assert answer["daily"]["temperature_2m_max"][-2:] == [None, None]
    assert None not in answer["daily"]["temperature_2m_max"][:-2]
    assert abs(answer["latitude"] - place.latitude) < 0.1, "a grid cell near the place"


def test_ndvi_csv_is_spanish_spreadsheet_text_for_each_parcel_season(tmp_path: Path) -> None:
    parcels = make_parcels(7, 5)
    path = write_ndvi_csv(tmp_path / "ndvi.csv", parcels)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date;enclosure_id;ndvi"
    rows = [line.split(";") for line in lines[1:]]
    assert {r[1] for r in rows} == {p.recinto_id for p in parcels}
    harvests = {p.recinto_id: p.harvest for p in parcels}
    for day, enclosure, value in rows:
        seen = datetime.strptime(day, "%d/%m/%Y").date()
        assert seen.year == harvests[enclosure] and 3 <= seen.month <= 10
        assert re.fullmatch(r"0,\d{4}", value)


# --- library hygiene ------------------------------------------------------------------------


def _run(code: str, hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True
    ).stdout


def test_output_independent_of_hash_seed(tmp_path: Path) -> None:
    # Sets and str hashing vary with PYTHONHASHSEED; the generators must not depend on them.
    code = (
        "import hashlib; from pathlib import Path; from agrolake.samples import *\n"
        "d = Path(r'{d}')\n"
        "d.mkdir(parents=True, exist_ok=True)\n"
        "for p in write_demo_set(d): print(p.name, hashlib.sha256(p.read_bytes()).hexdigest())\n"
    )
    one = _run(code.format(d=tmp_path / "a"), "1")
    two = _run(code.format(d=tmp_path / "b"), "12345")
    assert one == two and one.count(b"\n") == 16


def test_no_orchestration_or_cli_imports() -> None:
    code = (
        "import sys, agrolake.samples\n"
        "print(sorted(m for m in ('prefect', 'typer') if m in sys.modules))"
    )
    assert _run(code, "0").strip() == b"[]"

"""Daily weather as its sources send it: AEMET OpenData climatology and Open-Meteo archive answers.

The values follow a plausible seasonal climate per station (colder and with
more frost inland and up high, drier in Murcia) with day-to-day noise; they are
samples, not observations. AEMET files have what real ones have: ISO-8859-15
text, numbers as strings with decimal commas, "Ip" (under 0.1 mm) and "Acum"
precipitation, "Varias" times, direction 99 (variable) and fields missing
where a station does not measure them.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agrolake.datasets.locations import Location, shipped_locations


@dataclass(frozen=True)
class Station:
    """An AEMET station and the climate its samples follow."""

    indicativo: str
    nombre: str
    provincia: str
    altitud: int
    mean_c: float  # annual mean temperature
    amplitude_c: float  # half the difference between July and January means
    wet_days: float  # share of days with precipitation


STATIONS = {
    s.indicativo: s
    for s in (
        Station("9434", "ZARAGOZA, AEROPUERTO", "ZARAGOZA", 249, 15.5, 9.5, 0.17),
        Station("9898", "HUESCA, AEROPUERTO", "HUESCA", 546, 13.8, 9.8, 0.20),
        Station("8368U", "TERUEL", "TERUEL", 900, 12.0, 9.8, 0.18),
        Station("7178I", "MURCIA", "MURCIA", 61, 18.6, 8.2, 0.08),
        Station("8175", "ALBACETE, BASE AÉREA", "ALBACETE", 702, 13.9, 9.6, 0.15),
    )
}
# Province (INE code) -> the station whose climate its municipalities' samples follow.
PROVINCE_STATION = {50: "9434", 22: "9898", 44: "8368U", 30: "7178I", 2: "8175"}


@dataclass(frozen=True)
class Day:
    """One day of sample weather at one place, in the trusted units."""

    day: date
    tmin: float
    tmax: float
    tmed: float
    prec: float
    wind: float
    gust: float
    direction: int
    sun: float
    humidity: float


def _days(station: Station, start: date, end: date, rng: random.Random) -> list[Day]:
    days = []
    anomaly = 0.0
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        season = -math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365.25)
        anomaly = 0.7 * anomaly + rng.gauss(0, 1.6)  # spells of warm and cold days
        tmed = station.mean_c + station.amplitude_c * season + anomaly
        spread = max(4.0, rng.gauss(11.5 + station.altitud / 400, 2.5))
        wet = rng.random() < station.wet_days * (1.2 - 0.5 * max(season, 0))
        prec = round(rng.expovariate(1 / 6.0), 1) if wet else 0.0
        if wet:
            spread *= 0.6
        wind = max(0.3, rng.gauss(3.2, 1.4))
        clear = 0.35 if wet else rng.uniform(0.7, 1)
        days.append(
            Day(
                day=day,
                tmin=round(tmed - spread / 2, 1),
                tmax=round(tmed + spread / 2, 1),
                tmed=round(tmed, 1),
                prec=prec,
                wind=round(wind, 1),
                gust=round(wind * rng.uniform(2.0, 3.5), 1),
                direction=rng.randint(1, 36),
                sun=round(max(0.0, (9.5 + 3.5 * season) * clear), 1),
                humidity=round(min(100.0, max(15.0, 62 - 14 * season + (18 if wet else 0))), 0),
            )
        )
    return days


def _comma(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _time(rng: random.Random, hours: tuple[int, int]) -> str:
    return f"{rng.randint(*hours):02d}:{rng.choice(range(0, 60, 10)):02d}"


def aemet_records(
    stations: list[Station], start: date, end: date, *, seed: int
) -> list[dict[str, str]]:
    """AEMET OpenData daily values of ``stations`` from ``start`` to ``end``, day by day."""
    rng = random.Random(f"{seed}:aemet")
    by_station = {s.indicativo: _days(s, start, end, rng) for s in stations}
    records = []
    for index in range((end - start).days + 1):
        for station in stations:
            d = by_station[station.indicativo][index]
            record = {
                "fecha": d.day.isoformat(),
                "indicativo": station.indicativo,
                "nombre": station.nombre,
                "provincia": station.provincia,
                "altitud": str(station.altitud),
                "tmed": _comma(d.tmed),
                "prec": _comma(d.prec),
                "tmin": _comma(d.tmin),
                "horatmin": "Varias" if rng.random() < 0.03 else _time(rng, (3, 7)),
                "tmax": _comma(d.tmax),
                "horatmax": "Varias" if rng.random() < 0.03 else _time(rng, (13, 17)),
                "dir": "99" if rng.random() < 0.04 else f"{d.direction:02d}",
                "velmedia": _comma(d.wind),
                "racha": _comma(d.gust),
                "horaracha": "Varias" if rng.random() < 0.05 else _time(rng, (10, 19)),
                "sol": _comma(d.sun),
                "presMax": _comma(1013.0 - station.altitud / 8.3 + rng.uniform(2, 8)),
                "horaPresMax": str(rng.choice([9, 10, 11, 24])),
                "presMin": _comma(1013.0 - station.altitud / 8.3 - rng.uniform(0, 6)),
                "horaPresMin": str(rng.choice([4, 16, 17, 18])),
                "hrMedia": f"{d.humidity:.0f}",
            }
            if 0 < d.prec < 0.5 or (d.prec == 0 and rng.random() < 0.04):
                record["prec"] = "Ip"  # inappreciable: under 0.1 mm
            elif d.prec > 0 and rng.random() < 0.02:
                record["prec"] = "Acum"  # reported with a later day's
            if rng.random() < 0.06:  # a station without sunshine or pressure that day
                for name in ("sol", "presMax", "horaPresMax", "presMin", "horaPresMin"):
                    del record[name]
            if rng.random() < 0.01:  # a broken sensor: no mean temperature
                del record["tmed"]
            records.append(record)
    return records


def write_aemet_daily(
    path: Path,
    start: date,
    end: date,
    *,
    seed: int = 7,
    stations: list[str] | None = None,
    seasons_only: bool = True,
) -> Path:
    """An AEMET OpenData daily climatology file (JSON in ISO-8859-15, as the API serves it).

    Every station of the shipped locations table (or ``stations``), each day
    from ``start`` to ``end``; with ``seasons_only``, only 1 March to 31 October
    of each year (a file per growing season is how such data gets collected).
    """
    chosen = [STATIONS[s] for s in (stations or _shipped_stations())]
    records: list[dict[str, str]] = []
    for year in range(start.year, end.year + 1):
        first = max(start, date(year, 3, 1) if seasons_only else date(year, 1, 1))
        last = min(end, date(year, 10, 31) if seasons_only else date(year, 12, 31))
        if first <= last:
            records += aemet_records(chosen, first, last, seed=seed + year)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(records, ensure_ascii=False, indent=2).encode("iso8859_15"))
    return path


def _shipped_stations() -> list[str]:
    found = {loc.aemet_station for loc in shipped_locations() if loc.aemet_station}
    return [s for s in STATIONS if s in found]


def open_meteo_answer(
    location: Location,
    start: date,
    end: date,
    daily: list[str],
    *,
    seed: int = 7,
    wind_speed_unit: str = "ms",
    timezone: str = "Europe/Madrid",
    pending_days: int = 0,
) -> dict[str, Any]:
    """The archive API's JSON answer for ``location`` (documented shape, plausible values).

    ``daily`` are the variables asked for; the grid cell is a little off the
    coordinates asked for, as the real API's is. The last ``pending_days`` days
    are null, as the archive's are before its sources catch up.
    """
    station = STATIONS[PROVINCE_STATION.get(location.province_id, "9434")]
    rng = random.Random(f"{seed}:open-meteo:{location.location_id}:{start}")
    days = _days(station, start, end, rng)
    wind_scale = {"ms": 1.0, "kmh": 3.6, "mph": 2.23694, "kn": 1.94384}[wind_speed_unit]
    wind_unit = {"ms": "m/s", "kmh": "km/h", "mph": "mp/h", "kn": "kn"}[wind_speed_unit]
    values: dict[str, Any] = {
        "temperature_2m_mean": lambda d: d.tmed,
        "temperature_2m_max": lambda d: d.tmax,
        "temperature_2m_min": lambda d: d.tmin,
        "precipitation_sum": lambda d: d.prec,
        "relative_humidity_2m_mean": lambda d: d.humidity,
        "relative_humidity_2m_min": lambda d: max(5.0, d.humidity - 25),
        "relative_humidity_2m_max": lambda d: min(100.0, d.humidity + 25),
        "wind_speed_10m_mean": lambda d: round(d.wind * wind_scale, 1),
        "wind_speed_10m_max": lambda d: round(d.wind * 1.8 * wind_scale, 1),
        "wind_gusts_10m_max": lambda d: round(d.gust * wind_scale, 1),
        "wind_direction_10m_dominant": lambda d: d.direction * 10,
        "sunshine_duration": lambda d: round(d.sun * 3600, 2),
        "shortwave_radiation_sum": lambda d: round(4 + d.sun * 1.6, 2),
        "et0_fao_evapotranspiration": lambda d: round(max(0.2, 0.16 * (d.tmed + 5) + 0.1), 2),
    }
    units = {
        "time": "iso8601",
        "temperature_2m_mean": "°C",
        "temperature_2m_max": "°C",
        "temperature_2m_min": "°C",
        "precipitation_sum": "mm",
        "relative_humidity_2m_mean": "%",
        "relative_humidity_2m_min": "%",
        "relative_humidity_2m_max": "%",
        "wind_speed_10m_mean": wind_unit,
        "wind_speed_10m_max": wind_unit,
        "wind_gusts_10m_max": wind_unit,
        "wind_direction_10m_dominant": "°",
        "sunshine_duration": "s",
        "shortwave_radiation_sum": "MJ/m²",
        "et0_fao_evapotranspiration": "mm",
    }
    complete = len(days) - pending_days
    table: dict[str, list[Any]] = {"time": [d.day.isoformat() for d in days]}
    for variable in daily:
        pick = values.get(variable, lambda d: None)
        table[variable] = [pick(d) if i < complete else None for i, d in enumerate(days)]
    return {
        "latitude": round(round(location.latitude * 10) / 10 + 0.0049, 6),
        "longitude": round(round(location.longitude * 10) / 10 - 0.0031, 6),
        "generationtime_ms": 1.234,
        "utc_offset_seconds": 3600,
        "timezone": timezone,
        "timezone_abbreviation": "GMT+1",
        "elevation": float(station.altitud),
        "daily_units": {k: units.get(k, "") for k in ("time", *daily)},
        "daily": table,
    }


def write_open_meteo_daily(
    path: Path, location: Location, start: date, end: date, daily: list[str], *, seed: int = 7
) -> Path:
    """An Open-Meteo answer as the weather flow lands it: ``location_id`` first."""
    answer = open_meteo_answer(location, start, end, daily, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"location_id": location.location_id, **answer}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path

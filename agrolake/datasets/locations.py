"""Weather locations: the municipalities weather is fetched for, and their AEMET stations.

A location is a municipality, identified like the first two parts of a SIGPAC
enclosure id: ``<province>-<municipality>`` ("50-73"), so an enclosure finds
its weather without a lookup. The project ships a table for the municipalities
of its samples (``agrolake/data/locations.csv``); ``AGROLAKE_LOCATIONS_FILE``
names a CSV with the same columns whose rows add to it (a row of the same
municipality replaces the shipped one).

Columns: ``province_id``, ``municipality_id``, ``latitude``, ``longitude``
(WGS84, the point weather is fetched for) are required; ``municipality``,
``province`` and ``aemet_station`` (the AEMET ``indicativo`` whose daily
climatology stands for the municipality; blank for none) are optional.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agrolake.errors import ConfigError
from agrolake.lake.naming import normalise
from agrolake.lake.settings import Settings

REQUIRED = ("province_id", "municipality_id", "latitude", "longitude")
OPTIONAL = ("municipality", "province", "aemet_station")
SHIPPED = "data/locations.csv"


@dataclass(frozen=True)
class Location:
    """One municipality with the point its weather is fetched for."""

    province_id: int
    municipality_id: int
    latitude: float
    longitude: float
    municipality: str = ""
    province: str = ""
    aemet_station: str | None = None

    @property
    def location_id(self) -> str:
        return location_id(self.province_id, self.municipality_id)

    @property
    def name(self) -> str:
        return self.municipality or self.location_id


def location_id(province_id: int, municipality_id: int) -> str:
    """``50-73``: province and municipality numbers, as in an enclosure id."""
    return f"{province_id}-{municipality_id}"


def station_id(text: str) -> str:
    """An AEMET ``indicativo`` as compared: trimmed, upper case ("8368u" = "8368U")."""
    return text.strip().upper()


def shipped_locations() -> list[Location]:
    """The table shipped with agrolake: the municipalities of its sample farms."""
    text = resources.files("agrolake").joinpath(SHIPPED).read_text(encoding="utf-8")
    return parse_locations(text, f"agrolake/{SHIPPED}")


def read_locations_file(path: Path) -> list[Location]:
    """A user's locations CSV (comma or semicolon separated, UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read the locations file {path} (AGROLAKE_LOCATIONS_FILE): {exc}"
        ) from exc
    return parse_locations(text, str(path))


def load_locations(settings: Settings) -> dict[str, Location]:
    """Every location by id: the shipped ones, then the user's file over them."""
    found = {loc.location_id: loc for loc in shipped_locations()}
    if settings.locations_file is not None:
        found |= {loc.location_id: loc for loc in read_locations_file(settings.locations_file)}
    return found


def station_locations(locations: dict[str, Location]) -> tuple[tuple[str, str], ...]:
    """``(AEMET station, location id)`` pairs, sorted; a station may stand for several."""
    return tuple(
        sorted(
            (station_id(loc.aemet_station), loc.location_id)
            for loc in locations.values()
            if loc.aemet_station
        )
    )


def parse_locations(text: str, where: str) -> list[Location]:
    """Parse and check a locations table; a bad row is a one-line ConfigError naming it."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ConfigError(f"the locations file {where} is empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [normalise(c) for c in next(reader)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(
            f"the locations file {where} lacks the columns {', '.join(missing)} "
            f"(it needs {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})"
        )
    found: dict[str, Location] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        location = _location(row, f"{where}, line {number}")
        if location.location_id in found:
            raise ConfigError(
                f"{where}, line {number}: municipality {location.location_id} is listed twice"
            )
        found[location.location_id] = location
    return list(found.values())


def _location(row: dict[str, str], where: str) -> Location:
    def number(column: str, low: float, high: float, kind: type[int] | type[float]) -> float:
        text = row.get(column, "").replace(",", ".") if kind is float else row.get(column, "")
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{where}: {column} {text!r} is not {what} from {low} to {high}")
        return value

    return Location(
        province_id=int(number("province_id", 0, 99, int)),
        municipality_id=int(number("municipality_id", 0, 9999, int)),
        latitude=float(number("latitude", -90, 90, float)),
        longitude=float(number("longitude", -180, 180, float)),
        municipality=row.get("municipality", ""),
        province=row.get("province", ""),
        aemet_station=station_id(row.get("aemet_station", "")) or None,
    )

"""The locations table: the shipped municipalities, a user's file over them, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agrolake.datasets.locations import load_locations, shipped_locations, station_locations
from agrolake.errors import ConfigError
from agrolake.lake.settings import Settings
from agrolake.samples import STATIONS
from agrolake.samples._catalog import MUNICIPALITIES


def test_the_shipped_table_covers_every_sample_municipality() -> None:
    shipped = {p.location_id: p for p in shipped_locations()}
    sample = {f"{prov}-{muni}" for prov, munis in MUNICIPALITIES.items() for muni, _ in munis}
    assert set(shipped) == sample
    for place in shipped.values():
        assert 36 < place.latitude < 44 and -10 < place.longitude < 4, "in mainland Spain"
        assert place.municipality and place.province
        assert place.aemet_station is None or place.aemet_station in STATIONS
    stations = station_locations(shipped)
    assert stations == tuple(sorted(stations))
    assert {s for s, _ in stations} == set(STATIONS)


def test_a_users_file_adds_and_replaces_municipalities(tmp_path: Path) -> None:
    extra = tmp_path / "locations.csv"
    extra.write_text(
        "\ufeffProvince_ID,municipality_id,latitude,longitude,aemet_station\n"
        "50,73,41.5,-1.5,9434x\n"
        "45,901,39.86,-4.03,\n"
        "\n",
        encoding="utf-8",
    )
    found = load_locations(Settings(locations_file=extra))
    assert len(found) == len(shipped_locations()) + 1
    assert (found["50-73"].latitude, found["50-73"].aemet_station) == (41.5, "9434X")
    assert found["50-73"].name == "50-73", "no name given: the id names it"
    assert found["45-901"].aemet_station is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("province_id,municipality_id,latitude\n", "lacks the columns longitude"),
        (
            "province_id,municipality_id,latitude,longitude\n50,73,north,-1\n",
            "line 2: latitude 'north' is not a number from -90 to 90",
        ),
        (
            "province_id,municipality_id,latitude,longitude\n50,7.5,41,-1\n",
            "line 2: municipality_id '7.5' is not a whole number",
        ),
        (
            "province_id,municipality_id,latitude,longitude\n50,73,41,-1\n50,73,42,-1\n",
            "line 3: municipality 50-73 is listed twice",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_row(
    tmp_path: Path, text: str, message: str
) -> None:
    extra = tmp_path / "mine.csv"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_locations(Settings(locations_file=extra))
    assert message in error.value.message and str(extra) in error.value.message
    assert "\n" not in error.value.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AGROLAKE_LOCATIONS_FILE"):
        load_locations(Settings(locations_file=tmp_path / "nowhere.csv"))

"""A user's dataset, declared with no package edit, through every zone on both backends:
inferred from a sample, two files MERGEd on the key, a bad row per check quarantined
with its reason, a new column, a rebuild after editing the declaration, disabling
and declaring again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml

from agrolake.answers.inventory import orphaned_datasets, orphaned_tables
from agrolake.answers.provenance import of_key
from agrolake.answers.query import query
from agrolake.answers.reports import status
from agrolake.datasets.declarations import declaration_files, write_declaration
from agrolake.datasets.infer import declaration_text, infer_dataset
from agrolake.datasets.registry import load_registry
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.lake.tables import QUARANTINE, TableRef
from agrolake.pipeline import rebuild, run_all

TABLE = TableRef("trusted", "farm.pistachio_harvest")
SAMPLE = (
    "Parcela;Fecha cosecha;Variedad;Peso (kg);Humedad %\r\n"
    "00123;15/09/2024;Kerman;1.234,5;5,2\r\n"
    "00124;16/09/2024;Larnaka;987,25;4,9\r\n"
    "00125;17/09/2024;Kerman;1.050,0;5,0\r\n"
)
# The same plots a week later: one re-weighed, one new, one of each bad value, a new column.
SECOND = (
    "Parcela;Fecha cosecha;Variedad;Peso (kg);Humedad %;Operario\r\n"
    "00123;15/09/2024;Kerman;1.300,0;5,1;Ana\r\n"  # a correction of the first file's row
    "00126;18/09/2024;Sirora;640,5;4,8;Luis\r\n"
    "00127;18/09/2024;Kerman;-5;4,8;Luis\r\n"  # range
    "00128;18/09/2024;Pistacho raro;100;4,8;Luis\r\n"  # allowed
    "128;18/09/2024;Kerman;100;4,8;Luis\r\n"  # pattern
    "00129;31/02/2024;Kerman;100;4,8;Luis\r\n"  # type: no such day
    ";18/09/2024;Kerman;100;4,8;Luis\r\n"  # not_null
)


@pytest.fixture
def user_lake(lake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """A lake whose declarations live beside it: a folder, or an s3:// prefix of its own."""
    env = dict(lake_env)
    if "AGROLAKE_S3_ENDPOINT_URL" in env:
        bucket = f"d{secrets.token_hex(5)}-declarations"
        env["AGROLAKE_DATASETS_DIR"] = f"s3://{bucket}/lab"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lake = Lake(Settings())
    if lake.settings.uses_s3:
        lake.store.ensure_buckets((bucket,))
    lake.init()
    yield lake
    lake.close()


def declare(lake: Lake, text: str) -> str:
    registry = load_registry(lake.settings)
    dataset = next(d for d in registry.datasets if d.id == "farm.pistachio_harvest")
    return write_declaration(lake.settings, dataset, text, None, replace=True)


def trusted(lake: Lake) -> pl.DataFrame:
    data = lake.tables.read(TABLE)
    assert data is not None
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("parcela")


def quarantine(lake: Lake) -> list[tuple[str, str, str]]:
    data = lake.tables.read(QUARANTINE)
    assert data is not None
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    rows = frame.filter(pl.col("table") == TABLE.sql_name).sort("row_index")
    return [(r["column"], r["check"], r["value"]) for r in rows.to_dicts()]


def test_a_declared_source_goes_through_every_zone(user_lake: Lake, tmp_path: Path) -> None:
    lake = user_lake
    sample = tmp_path / "cosecha_pistacho_2024.csv"
    sample.write_bytes(SAMPLE.encode("cp1252"))
    inferred = infer_dataset(sample, "farm.pistachio_harvest", key=["Parcela", "Fecha cosecha"])
    text = declaration_text(inferred, sample.name)
    # The user adds checks to what inference wrote: a range, a set and a pattern.
    document = yaml.safe_load(text)
    by_name = {f["name"]: f for f in document["tables"][0]["fields"]}
    by_name["peso_kg"]["checks"] = {"min": 0, "max": 50000}
    by_name["variedad"]["checks"] = {"allowed": ["Kerman", "Larnaka", "Sirora"]}
    by_name["parcela"]["checks"] = {"pattern": "^[0-9]{5}$"}
    document["files"]["name_pattern"] = "pistach"
    address = write_declaration(lake.settings, inferred.dataset, yaml.safe_dump(document), None)
    assert address.startswith(lake.settings.declarations)
    assert [a for a, _ in declaration_files(lake.settings)] == [address]

    lake.store.put("landing", "cosecha_pistacho_2024.csv", sample.read_bytes())
    first = run_all(lake)
    assert first.landing.counts == {"raw": 1}
    assert trusted(lake)["peso_kg"].to_list() == [1234.5, 987.25, 1050.0]
    [raw] = lake.catalog.find(dataset="farm.pistachio_harvest")
    assert raw.raw_key.startswith("farm/farm.pistachio_harvest/")
    assert lake.store.exists("raw", raw.raw_key)

    lake.store.put("landing", "cosecha_pistacho_semana2.csv", SECOND.encode("cp1252"))
    second = run_all(lake)
    [write] = [w for w in second.trusted.writes if w.table == TABLE.sql_name]
    assert (write.rows, write.quarantined) == (2, 5)
    rows = trusted(lake)
    assert rows["parcela"].to_list() == ["00123", "00124", "00125", "00126"]
    assert rows.filter(pl.col("parcela") == "00123")["peso_kg"].item() == 1300.0, "latest wins"
    assert rows["operario"].to_list() == ["Ana", None, None, "Luis"], "a new column, as text"
    assert quarantine(lake) == [
        ("peso_kg", "range:0..50000", "-5"),
        ("variedad", "allowed:Kerman|Larnaka|Sirora", "Pistacho raro"),
        ("parcela", "pattern:^[0-9]{5}$", "128"),
        ("fecha_cosecha", "type:date", "31/02/2024"),
        ("parcela", "not_null", ""),
    ]
    [count] = query(lake, f"SELECT count(*) AS n FROM {TABLE.sql_name}").to_pylist()
    assert count["n"] == 4
    [found] = of_key(lake, "cosecha_pistacho_semana2.csv")
    assert found["dataset"] == "farm.pistachio_harvest"
    assert {"table": TABLE.sql_name, "version": write.version} in found["tables"]

    # Edit the declaration: Sirora is no longer a variety of the farm. Rebuild applies it.
    document["tables"][0]["fields"][2]["checks"] = {"allowed": ["Kerman", "Larnaka"]}
    declare(lake, yaml.safe_dump(document))
    assert status(lake)["trusted"][TABLE.sql_name]["rebuild_due"] is True
    rebuilt = {w.table: w for w in rebuild(lake, [TABLE.sql_name])}
    assert rebuilt[TABLE.sql_name].rows == 3
    assert trusted(lake)["parcela"].to_list() == ["00123", "00124", "00125"]
    assert ("variedad", "allowed:Kerman|Larnaka", "Sirora") in quarantine(lake)
    assert "rebuild_due" not in status(lake)["trusted"][TABLE.sql_name]

    # Disabled: new files are not recognised; its raw files and table stay, orphaned.
    document["enabled"] = False
    declare(lake, yaml.safe_dump(document))
    lake.store.put("landing", "cosecha_pistacho_semana3.csv", SAMPLE.encode("cp1252"))
    third = run_all(lake)
    assert third.landing.counts == {"invalid": 1}
    [rejected] = [o for o in third.landing.outcomes]
    assert "no dataset contract matches" in (rejected.reason or "")
    registry = load_registry(lake.settings)
    assert orphaned_datasets(lake, registry) == {
        "farm.pistachio_harvest": {"raw_ingests": 2, "disabled": True}
    }
    assert orphaned_tables(lake, registry) == [TABLE]
    [count] = query(lake, f"SELECT count(*) AS n FROM {TABLE.sql_name}").to_pylist()
    assert count["n"] == 3, "an orphaned table stays queryable"
    assert status(lake)["trusted"][TABLE.sql_name]["orphaned"] is True

    # Declared again: the rejected file comes back and goes through.
    document["enabled"] = True
    declare(lake, yaml.safe_dump(document))
    from agrolake.zones.replay import replay

    replay(lake, [rejected.ingest_id])
    fourth = run_all(lake)
    assert fourth.landing.counts == {"duplicate": 1}, "the same bytes as the first file"
    assert orphaned_tables(lake, load_registry(lake.settings)) == []

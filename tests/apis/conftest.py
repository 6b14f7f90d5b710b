"""Fixtures of the API ingestion tests: fake APIs, a lake with enclosures, fast retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.pipeline import run_all
from agrolake.samples import write_parcels_and_treatments
from tests.fake_apis import FakeOpenMeteo, FakeTeledetection

PARCELS = TableRef("trusted", "erp.parcels")
# Retries and pauses short enough for tests; the timeout well under the fake's slow answer.
FAST = {
    "api_backoff_seconds": 0.01,
    "api_batch_pause_seconds": 0.0,
    "api_timeout_seconds": 0.5,
}


@pytest.fixture
def open_meteo() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo()
    yield server
    server.stop()


@pytest.fixture
def teledetection() -> Iterator[FakeTeledetection]:
    server = FakeTeledetection()
    yield server
    server.stop()


@pytest.fixture
def configured(request: pytest.FixtureRequest) -> Callable[..., Lake]:
    """``configured(lake, **settings)``: the same lake with other settings (closed after)."""

    def make(lake: Lake, **settings: Any) -> Lake:
        other = Lake(lake.settings.model_copy(update={**FAST, **settings}))
        request.addfinalizer(other.close)
        return other

    return make


def farm(lake: Lake, folder: Path, *, rows: int, seed: int = 11) -> pl.DataFrame:
    """Land a parcels workbook of ``rows`` enclosures and run the lake; the enclosures."""
    path = folder / f"Recintos_{seed}_{rows}.xlsx"
    write_parcels_and_treatments(path, rows=rows, seed=seed)
    lake.store.put("landing", path.name, path.read_bytes())
    run_all(lake)
    data = lake.tables.read(PARCELS)
    assert data is not None
    parcels = pl.from_arrow(data)
    assert isinstance(parcels, pl.DataFrame)
    return parcels.select(
        "enclosure_id",
        "harvest_year",
        pl.concat_str("province_id", "municipality_id", separator="-").alias("location_id"),
    )


def landed(lake: Lake, prefix: str) -> list[str]:
    """Keys waiting in landing under ``prefix``."""
    return sorted(o.key for o in lake.store.list("landing", prefix))

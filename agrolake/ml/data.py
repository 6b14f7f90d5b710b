"""The training data: the refined wine table at a pinned version, split deterministically."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from agrolake.datasets.builtin.lab_wine_quality import FEATURES, REFINED, TARGET
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef

if TYPE_CHECKING:
    import pandas as pd

ML_WINE = TableRef("refined", REFINED[0].name)
__all__ = ["FEATURES", "ML_WINE", "TARGET", "TrainingData", "load_training_data"]
TEST_SHARE = 0.25


@dataclass(frozen=True)
class TrainingData:
    """Features and target of one table version, split into train and held-out test."""

    table: TableRef
    version: int
    uri: str
    frame: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def ingest_ids(self) -> list[str]:
        return sorted(self.frame["_ingest_id"].unique().tolist())


def load_training_data(lake: Lake, version: int | None = None) -> TrainingData:
    """The ML wine table at ``version`` (default: its latest), split 75/25.

    A row is held out by a hash of its ingest and values, not by a random draw:
    the same row stays on the same side in every table version, so a champion
    trained on an older version is compared with a challenger on rows neither
    of them learned from.
    """
    current = lake.tables.version(ML_WINE)
    if current is None:
        raise UsageError(
            "no wine data to train on yet: land a wine quality CSV and run `agrolake run`"
        )
    version = current if version is None else version
    data = lake.tables.read(ML_WINE, version)
    assert data is not None
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    if frame.height < 10:
        raise UsageError(
            f"{ML_WINE.sql_name} v{version} has {frame.height} rows; at least 10 are needed"
        )
    ordered = frame.sort(["_ingest_id", *FEATURES, TARGET])
    held_out = pl.Series(
        [_held_out(row) for row in ordered.select("_ingest_id", *FEATURES, TARGET).iter_rows()]
    )
    pandas = ordered.to_pandas()
    mask = held_out.to_numpy()
    return TrainingData(
        ML_WINE, version, lake.tables.uri(ML_WINE), pandas, pandas[~mask], pandas[mask]
    )


def _held_out(row: tuple[object, ...]) -> bool:
    digest = hashlib.sha256("|".join(map(str, row)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < TEST_SHARE * 100

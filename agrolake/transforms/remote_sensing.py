"""Raw → trusted cleaning of NDVI: the teledetection service's answers and files dropped by hand.

Both become ``remote_sensing.ndvi`` rows: one per enclosure and day, the
enclosure id in the canonical SIGPAC form of the ERP tables (so NDVI joins the
digital twin), the NDVI between -1 and 1 (a scaled value such as 6100 for
0.61 is out of range and quarantined, not guessed).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from agrolake.transforms.common import (
    DEFAULT_OPTIONS,
    CleanOptions,
    Field,
    field_errors,
    finish,
    schema_for,
    typed,
)
from agrolake.transforms.erp import ENCLOSURE_ID, ENCLOSURE_KIND, parse_enclosure_id

NDVI_FIELDS: tuple[Field, ...] = (
    Field(
        ENCLOSURE_ID,
        pl.String(),
        ENCLOSURE_ID,
        required=True,
        parser=parse_enclosure_id,
        kind=ENCLOSURE_KIND,
    ),
    Field("date", pl.Date(), "date", required=True),
    Field("year", pl.Int32(), required=True),
    Field("ndvi", pl.Float64(), "ndvi", required=True, low=-1, high=1),
)
# The service names the enclosure "id", as the seed's requests did.
NDVI_SERVICE_FIELDS = tuple(
    replace(f, source="id") if f.name == ENCLOSURE_ID else f for f in NDVI_FIELDS
)

NDVI_SCHEMA = schema_for("remote_sensing.ndvi", NDVI_FIELDS)
NDVI_KEY: tuple[str, ...] = (ENCLOSURE_ID, "date")
NDVI_PARTITION: tuple[str, ...] = ("year",)


def _clean(raw: pl.LazyFrame, fields: tuple[Field, ...]) -> pl.LazyFrame:
    lf = typed(raw, fields).with_columns(pl.col("date").dt.year().cast(pl.Int32).alias("year"))
    return finish(lf, fields, [e for f in fields for e in field_errors(f)])


def clean_ndvi_files(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """An NDVI file (date, enclosure_id, ndvi; all text) → remote_sensing.ndvi rows."""
    return _clean(raw, NDVI_FIELDS)


def clean_ndvi_service(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """A teledetection answer (id, date, ndvi per row; all text) → remote_sensing.ndvi rows."""
    return _clean(raw, NDVI_SERVICE_FIELDS)

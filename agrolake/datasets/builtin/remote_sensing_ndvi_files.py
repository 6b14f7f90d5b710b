"""NDVI files dropped by hand: a date, an enclosure id and its NDVI per row (CSV or JSON).

They become ``remote_sensing.ndvi`` rows, shared with the teledetection service's
answers (``remote_sensing_ndvi_service``): one per enclosure and day, the
enclosure in the canonical SIGPAC form of the ERP tables (so NDVI joins the
digital twin), NDVI between -1 and 1 (a scaled value such as 6100 for 0.61 is
out of range and quarantined, not guessed); the later ingest of a day wins.
"""

from __future__ import annotations

import polars as pl

from agrolake.datasets.cleaning import field_errors, finish, typed
from agrolake.datasets.model import Checks, CleanOptions, Dataset, Field, Files, Table

ENCLOSURE = Field(
    name="enclosure_id", source="enclosure_id", required=True, parser="sigpac_enclosure"
)
FIELDS = (
    ENCLOSURE,
    Field(name="date", type="date", source="date", required=True),
    Field(name="year", type="int32", required=True, derived_from="date"),
    Field(name="ndvi", type="float", source="ndvi", required=True, checks=Checks(min=-1, max=1)),
)


def clean_ndvi(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
    """The fields, and ``year`` (the partition) from the date."""
    lf = typed(raw, table.fields, null_values=table.null_values).with_columns(
        pl.col("date").dt.year().cast(pl.Int32).alias("year")
    )
    return finish(lf, table.fields, [e for f in table.fields for e in field_errors(f)])


NDVI = Table(
    name="remote_sensing.ndvi",
    fields=FIELDS,
    key=("enclosure_id", "date"),
    partition_by=("year",),
    clean=clean_ndvi,
    description="NDVI per enclosure and day, from files and the teledetection service.",
)

DATASET = Dataset(
    id="remote_sensing.ndvi_files",
    provider="NDVI file",
    description="NDVI observations: date, enclosure_id (SIGPAC composite), ndvi (-1..1).",
    files=Files(formats=("csv", "json"), name_pattern=r"ndvi"),
    tables=(NDVI,),
)

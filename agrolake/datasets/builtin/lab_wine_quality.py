"""UCI red wine quality samples (lab analyses), comma or semicolon separated, and the
ML table the quality model is trained on.

The UCI column names stay as they are end to end: the model is queried with them.
Real samples repeat, so rows are never deduplicated: each ingest's rows replace
the rows it wrote before.
"""

from __future__ import annotations

import polars as pl

from agrolake.datasets.model import Checks, Dataset, Field, Files, RefinedTable, Table

FEATURES: tuple[str, ...] = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
    "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)  # fmt: skip
TARGET = "quality"
TRUSTED = "trusted.lab_wine_quality"

# Concentrations, density, pH and alcohol are all non-negative; quality is a 0-10 score.
DATASET = Dataset(
    id="lab.wine_quality",
    provider="UCI",
    description="Physicochemical analyses of wine samples with a sensory quality score.",
    files=Files(formats=("csv",), name_pattern=r"wine"),
    tables=(
        Table(
            fields=(
                *(
                    Field(name=n, type="float", source=n, required=True, checks=Checks(min=0))
                    for n in FEATURES
                ),
                Field(
                    name=TARGET,
                    type="int32",
                    source=TARGET,
                    required=True,
                    checks=Checks(min=0, max=10),
                ),
            ),
            description="Every landed wine sample, repeats kept.",
        ),
    ),
)


def ml_wine_quality(wine: pl.LazyFrame) -> pl.LazyFrame:
    """Every landed wine sample: the 11 UCI features, quality, ``_ingest_id``, ``_source``.

    Rows are ordered by ``_ingest_id`` and then by position in their file: the
    trusted ``_row`` when present, else the input order (a stable sort keeps it).
    ``_row`` is not in the output, so the schema is the same either way; the
    order it gave is kept.
    """
    order = ["_ingest_id", "_row"] if "_row" in wine.collect_schema() else ["_ingest_id"]
    return wine.sort(order, maintain_order=True).select(*FEATURES, TARGET, "_ingest_id", "_source")


REFINED = (
    RefinedTable(
        "ml.wine_quality",
        (TRUSTED,),
        ml_wine_quality,
        required=(TRUSTED,),
        description="The quality model's training table: features, quality, ingest.",
    ),
)

"""Raw → trusted cleaning of the lab datasets: the UCI wine quality analyses.

The trusted columns keep the exact UCI names ("fixed acidity", "pH", ...):
the quality model is trained and queried with them.
"""

from __future__ import annotations

import polars as pl

from agrolake.transforms.common import (
    DEFAULT_OPTIONS,
    CleanOptions,
    Field,
    clean_fields,
    schema_for,
    visible,
)

# The UCI names, spelled here: the contracts sit a layer above the transforms.
FEATURES = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
    "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)  # fmt: skip

# Concentrations, density, pH and alcohol are all non-negative; quality is a 0-10 score.
WINE_QUALITY_FIELDS = (
    *(Field(name, pl.Float64(), name, required=True, low=0) for name in FEATURES),
    Field("quality", pl.Int32(), "quality", required=True, low=0, high=10),
)

WINE_QUALITY_SCHEMA = schema_for("lab.wine_quality", WINE_QUALITY_FIELDS)


def clean_wine_quality(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """A wine quality CSV (all text, any delimiter, quoted header or not) → typed rows.

    Headers match whatever their quoting or case, so ``"pH"`` read with its
    quotes still lands in ``pH``.
    """
    return clean_fields(raw, visible(WINE_QUALITY_FIELDS, options))

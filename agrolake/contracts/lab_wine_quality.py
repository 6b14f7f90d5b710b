"""UCI red wine quality samples (lab analyses), comma or semicolon separated.

The UCI column names stay as they are end to end: the model is queried with them.
"""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import WINE_QUALITY_SCHEMA, clean_wine_quality

FEATURES = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
    "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)  # fmt: skip

CONTRACT = DatasetContract(
    id="lab.wine_quality",
    source="UCI",
    description="Physicochemical analyses of wine samples with a sensory quality score.",
    formats=("csv",),
    tables=(TableContract(sheet=None, required=(*FEATURES, "quality")),),
    name_pattern=r"wine",
    trusted=(
        TrustedTable(
            "lab.wine_quality",
            None,
            clean_wine_quality,
            WINE_QUALITY_SCHEMA,
            evolution="Real samples repeat: rows are replaced per ingest, never deduplicated. "
            "New columns are kept as nullable text columns.",
        ),
    ),
)

"""NDVI files dropped by hand: a date, an enclosure id and its NDVI per row (CSV or JSON)."""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import NDVI_KEY, NDVI_PARTITION, NDVI_SCHEMA, clean_ndvi_files

CONTRACT = DatasetContract(
    id="remote_sensing.ndvi_files",
    source="NDVI file",
    description="NDVI observations: date, enclosure_id (SIGPAC composite), ndvi (-1..1).",
    formats=("csv", "json"),
    tables=(TableContract(sheet=None, required=("date", "enclosure_id", "ndvi")),),
    name_pattern=r"ndvi",
    trusted=(
        TrustedTable(
            "remote_sensing.ndvi",
            None,
            clean_ndvi_files,
            NDVI_SCHEMA,
            key=NDVI_KEY,
            partition_by=NDVI_PARTITION,
            evolution="New columns are kept as nullable text columns. Shared with "
            "remote_sensing.ndvi_service: the later ingest of an enclosure and day wins.",
        ),
    ),
)

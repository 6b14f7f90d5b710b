"""Answers of the teledetection NDVI service, one per enclosure, as the NDVI flow lands them.

``{"id": <enclosure>, "operation": "ndvi", "values": [{"date": …, "ndvi": …}, …]}``:
the object's ``id`` is repeated on every row when the file is read.
"""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import NDVI_KEY, NDVI_PARTITION, NDVI_SCHEMA, clean_ndvi_service

CONTRACT = DatasetContract(
    id="remote_sensing.ndvi_service",
    source="teledetection",
    description="Teledetection service answer: enclosure id, then dated NDVI values.",
    formats=("json",),
    tables=(
        TableContract(
            sheet=None,
            required=("id", "date", "ndvi"),
            optional=("operation", "initdate", "enddate"),
        ),
    ),
    name_pattern=r"ndvi|teledetec",
    trusted=(
        TrustedTable(
            "remote_sensing.ndvi",
            None,
            clean_ndvi_service,
            NDVI_SCHEMA,
            key=NDVI_KEY,
            partition_by=NDVI_PARTITION,
            evolution="New fields are kept as nullable text columns. Shared with "
            "remote_sensing.ndvi_files: the later ingest of an enclosure and day wins.",
        ),
    ),
)

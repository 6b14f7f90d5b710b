"""Answers of the teledetection NDVI service, one per enclosure, as the NDVI flow lands them.

``{"id": <enclosure>, "operation": "ndvi", "values": [{"date": …, "ndvi": …}, …]}``:
the object's ``id`` is repeated on every row when the file is read. Same table as
``remote_sensing_ndvi_files``; the service names the enclosure "id", as the
seed's requests did.
"""

from __future__ import annotations

from agrolake.datasets.builtin.remote_sensing_ndvi_files import ENCLOSURE, NDVI
from agrolake.datasets.model import Dataset, Files

DATASET = Dataset(
    id="remote_sensing.ndvi_service",
    provider="teledetection",
    description="Teledetection service answer: enclosure id, then dated NDVI values.",
    files=Files(formats=("json",), name_pattern=r"ndvi|teledetec"),
    tables=(
        NDVI.model_copy(
            update={
                "fields": tuple(
                    f.model_copy(update={"source": "id"}) if f is ENCLOSURE else f
                    for f in NDVI.fields
                ),
                "ignored_columns": ("operation", "initdate", "enddate"),
            }
        ),
    ),
)

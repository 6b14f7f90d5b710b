"""PYSTACIL field app export: dated tasks per enclosure."""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import ACTIVITIES_BY_VALUE, ACTIVITIES_SCHEMA, clean_activities

CONTRACT = DatasetContract(
    id="erp.activities",
    source="PYSTACIL",
    description="Field activities: date (dd/mm/yyyy), task-product-dose, parcel, enclosure id.",
    formats=("xlsx", "xls", "csv"),
    tables=(
        TableContract(
            sheet="Hoja1", required=("FECHA", "TAREA-PRODUCTO-DOSIS", "PARCELA", "RECINTO ID")
        ),
    ),
    name_pattern=r"activ|tareas|pystacil",
    read_options={"date_format": "%d/%m/%Y"},
    trusted=(
        TrustedTable(
            "erp.activities",
            "Hoja1",
            clean_activities,
            ACTIVITIES_SCHEMA,
            key=("enclosure_id", "activity_date", "task"),
            partition_by=("year",),
            by_value=ACTIVITIES_BY_VALUE,
        ),
    ),
)

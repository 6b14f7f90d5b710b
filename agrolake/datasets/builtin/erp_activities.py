"""PYSTACIL field app export: dated tasks per enclosure.

``TAREA-PRODUCTO-DOSIS`` packs a task, a product and a dose ("ABONADO - NPK
15-15-15 - 300 kg/ha"); they are split into their own columns. Every column is
cleaned from one raw column alone (the year from the date, the task's parts from
the task), so trusted cleans each distinct value once (``by_value``), which is
what makes a file of millions of rows quick (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import polars as pl

from agrolake.datasets.cleaning import field_errors, finish, typed, visible
from agrolake.datasets.model import CleanOptions, Dataset, Field, Files, Table
from agrolake.transforms.parsers import clean_text

# "TASK - PRODUCT - DOSE": separators are dashes after a blank, so the dashes of
# "NPK 15-15-15" stay in the product; an empty product leaves "RIEGO - - 25 m3/ha";
# the product is greedy, so the dose is the last part.
TASK_THREE_PARTS = r"^(?P<task>.*?)\s+-(?:\s+(?P<product>.*))?\s+-\s+(?P<dose>.*)$"
TASK_TWO_PARTS = r"^(?P<task>.*?)\s+-\s+(?P<product>.*)$"

FIELDS = (
    Field(name="activity_date", type="date", source="FECHA", required=True),
    Field(name="year", type="int32", required=True, derived_from="activity_date"),
    Field(name="task", source="TAREA-PRODUCTO-DOSIS", required=True),
    Field(name="task_name", derived_from="task"),
    Field(name="product", derived_from="task"),
    Field(name="dose", derived_from="task"),
    Field(name="parcel_name", source="PARCELA"),
    Field(name="enclosure_id", source="RECINTO ID", required=True, parser="sigpac_enclosure"),
)


def with_task_parts(lf: pl.LazyFrame, task: str = "task") -> pl.LazyFrame:
    """``lf`` with task_name, product and dose split from its cleaned "TASK - PRODUCT - DOSE".

    A task alone ("PODA") is its own name; two parts are a task and a product.
    Empty parts are null. Each pattern is matched once into a column and then
    read, so the regexes run once per row, not once per part.
    """
    three, two = "__task:three", "__task:two"
    lf = lf.with_columns(
        pl.col(task).str.extract_groups(TASK_THREE_PARTS).alias(three),
        pl.col(task).str.extract_groups(TASK_TWO_PARTS).alias(two),
    )
    part3, part2 = pl.col(three).struct.field, pl.col(two).struct.field
    is_three = part3("task").is_not_null()
    name = pl.coalesce(part3("task"), part2("task"), pl.col(task))
    product = pl.when(is_three).then(part3("product")).otherwise(part2("product"))
    return lf.with_columns(
        clean_text(name).alias("task_name"),
        clean_text(product).alias("product"),
        clean_text(part3("dose")).alias("dose"),
    ).drop(three, two)


def clean_activities(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
    """``year`` (the partition column) is the year of ``activity_date``; it is null
    exactly when the date is, which already carries an error."""
    fields = visible(table.fields, options)
    lf = typed(raw, fields, null_values=table.null_values).with_columns(
        pl.col("activity_date").dt.year().cast(pl.Int32).alias("year")
    )
    lf = with_task_parts(lf)
    return finish(lf, fields, [e for f in fields for e in field_errors(f)])


DATASET = Dataset(
    id="erp.activities",
    provider="PYSTACIL",
    description="Field activities: date (dd/mm/yyyy), task-product-dose, parcel, enclosure id.",
    files=Files(formats=("xlsx", "xls", "csv"), name_pattern=r"activ|tareas|pystacil"),
    tables=(
        Table(
            sheet="Hoja1",
            fields=FIELDS,
            key=("enclosure_id", "activity_date", "task"),
            partition_by=("year",),
            clean=clean_activities,
            by_value=True,
            description="Field activities, one row per enclosure, day and task.",
        ),
    ),
)

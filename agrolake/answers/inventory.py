"""What the lake holds beside what the registry declares: tables and raw files of
datasets no longer declared (or disabled) stay, queryable and listed as orphaned."""

from __future__ import annotations

from agrolake.datasets.registry import Registry
from agrolake.lake import Lake
from agrolake.lake.catalog import RAW, TRUSTED
from agrolake.lake.tables import TableRef

IN_RAW = (RAW, TRUSTED)  # ingests whose bytes are in raw, whatever zone their rows reached


def orphaned_tables(lake: Lake, registry: Registry) -> list[TableRef]:
    """Tables written before whose dataset or refined table is no longer declared."""
    declared = {r.sql_name for r in registry.table_refs()}
    found = []
    for name, table_id in sorted(lake.catalog.lineage.tables().items()):
        zone = name.split(".", 1)[0]
        if name not in declared and table_id is not None and zone in ("trusted", "refined"):
            found.append(TableRef(zone, table_id))  # type: ignore[arg-type]
    return found


def queryable_tables(lake: Lake, registry: Registry) -> list[TableRef]:
    """Every table SQL can name: the declared ones, then the orphaned ones."""
    return [*registry.table_refs(), *orphaned_tables(lake, registry)]


def orphaned_datasets(lake: Lake, registry: Registry) -> dict[str, dict[str, object]]:
    """Datasets with files in raw but no enabled declaration: id → raw ingests, disabled."""
    enabled = {d.id for d in registry.enabled}
    counts = lake.catalog.count_by_dataset(IN_RAW)
    return {
        dataset: {"raw_ingests": n, "disabled": registry.get(dataset) is not None}
        for dataset, n in sorted(counts.items())
        if dataset is not None and dataset not in enabled
    }

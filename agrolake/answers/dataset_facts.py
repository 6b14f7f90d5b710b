"""A dataset as the lake sees it: the shapes of ``agrolake datasets list`` and ``show``
(docs/cli.md), shared by the command line and the lake browser.

Imports are local: ``agrolake --help`` reaches this module and should not wait for
delta-rs and pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agrolake.datasets.model import Dataset, Table


def summary(dataset: Dataset) -> dict[str, Any]:
    """One dataset as ``datasets list --json`` shows it."""
    from agrolake.lake.tables import TableRef

    return {
        "id": dataset.id,
        "builtin": dataset.builtin,
        "origin": dataset.origin,
        "enabled": dataset.enabled,
        "provider": dataset.source,
        "formats": list(dataset.files.formats),
        "name_pattern": dataset.files.name_pattern,
        "tables": [
            {
                "name": TableRef("trusted", t.table_name).sql_name,
                "sheet": t.sheet,
                "key": list(t.key),
                "write": t.write_mode,
            }
            for t in dataset.tables
        ],
    }


def table_facts(table: Table) -> dict[str, Any]:
    """A trusted table as the lake derives it from the declaration."""
    from agrolake.datasets.raw_contract import raw_columns
    from agrolake.lake.tables import TableRef

    columns = raw_columns(table)
    return {
        "name": TableRef("trusted", table.table_name).sql_name,
        "sheet": table.sheet,
        "key": list(table.key),
        "write": table.write_mode,
        "evolution": table.evolution,
        "partition_by": list(table.partition_by),
        "cleaning": "python" if table.clean is not None else "declared",
        "by_value": table.by_value,
        "raw_columns": {"required": list(columns.required), "optional": list(columns.optional)},
        "schema": [
            {
                "name": f.name,
                "type": str(f.dtype),
                "nullable": not f.required,
                "source": f.source,
                "personal": f.personal,
                "checks": [
                    c
                    for c in (
                        f.type_check if f.has_type_check else None,
                        "not_null" if f.required else None,
                        f.checks.range_check,
                        f.checks.allowed_check,
                        f"pattern:{f.checks.pattern}" if f.checks.pattern else None,
                    )
                    if c is not None
                ],
            }
            for f in table.fields
        ],
        "fingerprint": table.fingerprint,
    }


def dataset_details(dataset: Dataset) -> dict[str, Any]:
    """The whole declaration and what is derived from it: ``datasets show --json``."""
    return {
        **summary(dataset),
        "description": dataset.description,
        "version": dataset.version,
        "declaration": dataset.model_dump(mode="json", exclude={"origin"}),
        "tables": [table_facts(t) for t in dataset.tables],
    }

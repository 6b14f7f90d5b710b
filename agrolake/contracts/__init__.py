"""Dataset contracts: one module per dataset, found here by name, and recognition.

Adding a source means adding one module with a ``CONTRACT`` (and a sample file).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.errors import FileRejected, UsageError
from agrolake.lake.naming import normalise
from agrolake.readers import FileSample

__all__ = [
    "DatasetContract",
    "TableContract",
    "TrustedTable",
    "all_contracts",
    "get_contract",
    "normalise",
    "recognise",
]


@cache
def all_contracts() -> tuple[DatasetContract, ...]:
    """Every contract declared in this package, by dataset id."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            contract = getattr(
                importlib.import_module(f"{__name__}.{module.name}"), "CONTRACT", None
            )
            if isinstance(contract, DatasetContract):
                found.append(contract)
    return tuple(sorted(found, key=lambda c: c.id))


def get_contract(dataset_id: str) -> DatasetContract:
    for contract in all_contracts():
        if contract.id == dataset_id:
            return contract
    known = ", ".join(c.id for c in all_contracts())
    raise UsageError(f"no dataset {dataset_id!r}; known datasets: {known}")


def recognise(sample: FileSample, file_name: str) -> DatasetContract:
    """The contract the file satisfies, or a FileRejected saying which came closest.

    A file whose name or sheets point at a contract but lacks some of its columns
    is rejected as that dataset with the missing columns; a file like none of
    them is an unknown dataset, reported with the closest contract.
    """
    candidates = [c for c in all_contracts() if sample.format in c.formats]
    complete = [c for c in candidates if not c.missing_columns(sample)]
    if complete:
        # The most specific contract wins: most required columns, then a name match.
        best = max(
            complete,
            key=lambda c: (sum(len(t.required) for t in c.tables), c.names_match(file_name)),
        )
        best.check_raw(sample, file_name)
        return best
    columns = [c for t in sample.tables for c in t.columns]
    shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
    sheets = [t.name for t in sample.tables if t.name]
    described = f"sheets: {', '.join(sheets)}; " if sheets else ""
    pool = candidates or list(all_contracts())
    closest = max(pool, key=lambda c: (c.coverage(sample), c.names_match(file_name)))
    missing = closest.missing_columns(sample)
    missing_text = "; ".join(
        f"{where} misses {', '.join(cols)}"
        if where != "file"
        else f"missing columns {', '.join(cols)}"
        for where, cols in missing.items()
    )
    details = {
        "format": sample.format,
        "columns": columns,
        "sheets": sheets,
        "closest": closest.id,
        "closest_coverage": round(closest.coverage(sample), 3),
        "missing_columns": missing,
    }
    named = closest.names_match(file_name) or any(
        sample.table(t.sheet) is not None for t in closest.tables if t.sheet
    )
    if named and closest in candidates and closest.coverage(sample) > 0:
        raise FileRejected(
            f"{file_name} looks like {closest.id} but lacks required columns: {missing_text}",
            code="missing_columns",
            dataset=closest.id,
            **details,
        )
    if closest.coverage(sample) == 0:
        known = ", ".join(c.id for c in all_contracts())
        hint = f"it shares no required column with any known dataset ({known})"
    else:
        hint = f"closest: {closest.id}, {missing_text}"
    raise FileRejected(
        f"no dataset contract matches {file_name} ({described}columns: {shown}); {hint}",
        code="unknown_dataset",
        **details,
    )

"""Which dataset a file is: recognised by its format, columns and name, or rejected
with the dataset it came closest to and what it lacks."""

from __future__ import annotations

from collections.abc import Sequence

from agrolake.datasets.model import Dataset
from agrolake.datasets.raw_contract import (
    MAX_NEW_COLUMNS,
    check_raw,
    coverage,
    missing_columns,
    raw_columns,
    required_count,
)
from agrolake.errors import FileRejected
from agrolake.readers import FileSample


def recognise(
    sample: FileSample,
    file_name: str,
    datasets: Sequence[Dataset],
    max_new_columns: int = MAX_NEW_COLUMNS,
) -> Dataset:
    """The dataset the file satisfies, or a FileRejected saying which came closest.

    A file whose name or sheets point at a dataset but lacks some of its columns
    is rejected as that dataset with the missing columns; a file like none of
    them is an unknown dataset, reported with the closest one.
    """
    if not datasets:
        raise FileRejected(
            f"no dataset is declared, so {file_name} cannot be recognised", code="unknown_dataset"
        )
    candidates = [d for d in datasets if sample.format in d.files.formats]
    complete = [d for d in candidates if not missing_columns(d, sample)]
    if complete:
        # The most specific dataset wins: most required columns, then a name match.
        best = max(complete, key=lambda d: (required_count(d), d.names_match(file_name)))
        check_raw(best, sample, file_name, max_new_columns)
        return best
    columns = [c for t in sample.tables for c in t.columns]
    shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
    sheets = [t.name for t in sample.tables if t.name]
    described = f"sheets: {', '.join(sheets)}; " if sheets else ""
    pool = candidates or list(datasets)
    closest = max(pool, key=lambda d: (coverage(d, sample), d.names_match(file_name)))
    missing = missing_columns(closest, sample)
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
        "closest_coverage": round(coverage(closest, sample), 3),
        "missing_columns": missing,
    }
    named = closest.names_match(file_name) or any(
        sample.table(t.sheet) is not None for t in closest.tables if t.sheet
    )
    if named and closest in candidates and coverage(closest, sample) > 0:
        raise FileRejected(
            f"{file_name} looks like {closest.id} but lacks required columns: {missing_text}",
            code="missing_columns",
            dataset=closest.id,
            **details,
        )
    if coverage(closest, sample) == 0:
        known = ", ".join(d.id for d in datasets)
        hint = f"it shares no required column with any known dataset ({known})"
    else:
        hint = f"closest: {closest.id}, {missing_text}"
    raise FileRejected(
        f"no dataset contract matches {file_name} ({described}columns: {shown}); {hint}",
        code="unknown_dataset",
        **details,
    )


def explain(
    sample: FileSample, file_name: str, datasets: Sequence[Dataset]
) -> list[dict[str, object]]:
    """How the file compares with each dataset of its format, closest first: for
    ``agrolake datasets check``."""
    rows = []
    for dataset in datasets:
        if sample.format not in dataset.files.formats:
            continue
        rows.append(
            {
                "dataset": dataset.id,
                "coverage": round(coverage(dataset, sample), 3),
                "name_matches": dataset.names_match(file_name),
                "required_columns": required_count(dataset),
                "missing_columns": missing_columns(dataset, sample),
                "sheets": [t.sheet for t in dataset.tables if t.sheet],
                "known_columns": sum(
                    len(raw_columns(t).required) + len(raw_columns(t).optional)
                    for t in dataset.tables
                ),
            }
        )
    return sorted(rows, key=lambda r: (-float(r["coverage"]), not r["name_matches"]))  # type: ignore[arg-type]

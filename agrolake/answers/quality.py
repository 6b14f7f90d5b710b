"""Quality reports: what each trusted write found in an ingest, per table.

Trusted records the report on the ingest (``details["trusted"][table]["quality"]``);
these functions read it back for ``agrolake quality``, the lake browser and the
flows' Prefect artifacts. Ingests trusted before reports existed show their row
counts only (the other figures are null).
"""

from __future__ import annotations

from typing import Any

from agrolake.answers.inventory import queryable_tables
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.catalog import TRUSTED, Ingest
from agrolake.lake.tables import parse_table

#: Keys of the recorded report, in the order they are shown.
FIGURES = (
    "rows_in", "rows_written", "rows_quarantined", "by_check", "by_column", "null_rate",
    "new_columns",
)  # fmt: skip


def reports_of(ingest: Ingest) -> list[dict[str, Any]]:
    """One report per trusted table the ingest was written to."""
    found = []
    for table, stats in sorted(ingest.trusted_stats.items()):
        quality: dict[str, Any] = stats.get("quality") or {
            "rows_written": stats.get("rows"),
            "rows_quarantined": stats.get("quarantined"),
        }
        found.append(
            {
                "ingest_id": ingest.ingest_id,
                "original_name": ingest.original_name,
                "dataset": ingest.dataset,
                "table": table,
                "trusted_at": ingest.updated_at.isoformat(),
                **{name: quality.get(name) for name in FIGURES},
            }
        )
    return found


def quality_reports(
    lake: Lake, ingest_id: str | None = None, table: str | None = None
) -> list[dict[str, Any]]:
    """The reports of one ingest, of one table's ingests, or of every trusted ingest,
    oldest first (shape in docs/cli.md)."""
    if ingest_id is not None:
        ingest = lake.catalog.get(ingest_id)
        if ingest is None:
            raise UsageError(f"no ingest {ingest_id!r}; `agrolake lineage FILE` names them")
        if ingest.status != TRUSTED:
            raise UsageError(f"ingest {ingest_id} is {ingest.status}, not in trusted: no report")
        ingests = [ingest]
    else:
        ingests = lake.catalog.find(status=TRUSTED)
    reports = [r for ingest in ingests for r in reports_of(ingest)]
    if table is not None:
        known = queryable_tables(lake, load_registry(lake.settings))
        name = parse_table(table, known).sql_name
        reports = [r for r in reports if r["table"] == name]
    return reports


def as_markdown(reports: list[dict[str, Any]]) -> str:
    """The reports as a Markdown table (the flows publish it as a Prefect artifact)."""
    lines = [
        "| file | table | rows in | written | quarantined | failed checks | new columns |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in reports:
        checks = ", ".join(f"{c} ×{n}" for c, n in (r["by_check"] or {}).items())
        cells = [
            r["original_name"], r["table"], r["rows_in"], r["rows_written"],
            r["rows_quarantined"], checks, ", ".join(r["new_columns"] or []),
        ]  # fmt: skip
        lines.append("| " + " | ".join(_markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(value: object) -> str:
    """A cell that cannot break the table or inject markup: pipes and angle brackets escaped."""
    if value is None:
        return "–"
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")

"""The trusted step's quality reports on the flow run, as a Prefect Markdown artifact
(key ``trusted-quality``): the Prefect UI then shows, beside the run's summary
lines, what each file's rows came to and which checks failed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agrolake.lake import Lake

ARTIFACT_KEY = "trusted-quality"
MAX_REPORTS = 200  # one artifact stays readable; `agrolake quality` has every report


def publish_quality(lake: Lake, ingest_ids: Iterable[str]) -> None:
    """Publish the reports of the ingests a trusted step wrote (nothing outside a run)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return
    from agrolake.answers.quality import as_markdown, reports_of

    reports = []
    for ingest_id in ingest_ids:
        ingest = lake.catalog.get(ingest_id)
        reports += reports_of(ingest) if ingest is not None else []
    if not reports:
        return
    shown = reports[:MAX_REPORTS]
    more = len(reports) - len(shown)
    quarantined = sum(r["rows_quarantined"] or 0 for r in reports)
    markdown = (
        f"## Quality of {len(reports)} trusted writes ({quarantined} rows quarantined)\n\n"
        + as_markdown(shown)
        + (f"\n…and {more} more: `agrolake quality` lists them all.\n" if more else "")
    )
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=markdown,
        description="Rows in, written and quarantined per file and table; failed checks",
    )

"""What each page shows, as data: the same dict is rendered as HTML and served as JSON
under ``/api/…`` (docs/ui.md). Parameters are validated here; names the lake does not
know raise ``UsageError`` in the answers (a 404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from agrolake.answers import lineage_graph, provenance, reports
from agrolake.answers.dataset_facts import dataset_details, summary
from agrolake.answers.inventory import orphaned_datasets, orphaned_tables
from agrolake.answers.overview import ingest_outcome, overview
from agrolake.answers.quality import quality_reports
from agrolake.answers.quarantined import quarantine_report
from agrolake.answers.registered_models import has_registry, registered_models
from agrolake.answers.table_details import MAX_PAGE_SIZE, PAGE_SIZE, known_table, table_details
from agrolake.answers.twin_view import enclosure, enclosures
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.ui import params

View = Callable[[Lake, Request], Any]


def home(lake: Lake, request: Request) -> dict[str, Any]:
    return overview(lake)


def status(lake: Lake, request: Request) -> dict[str, Any]:
    return reports.status(lake)


def datasets(lake: Lake, request: Request) -> dict[str, Any]:
    """``agrolake datasets list --json``."""
    registry = load_registry(lake.settings)
    return {
        "datasets": [summary(d) for d in registry.datasets],
        "orphaned": {
            "datasets": orphaned_datasets(lake, registry),
            "tables": [r.sql_name for r in orphaned_tables(lake, registry)],
        },
        "problems": [p.__dict__ for p in registry.problems],
    }


def dataset(lake: Lake, request: Request) -> dict[str, Any]:
    """``agrolake datasets show --json``, plus the dataset's files and its tables' state."""
    found = load_registry(lake.settings).dataset(params.path_text(request, "dataset_id"))
    details = dataset_details(found)
    for declared, facts in zip(found.tables, details["tables"], strict=True):
        facts["version"] = lake.tables.version(TableRef("trusted", declared.table_name))
    details["files"] = [ingest_outcome(i) for i in reversed(lake.catalog.find(dataset=found.id))]
    return details


def page_of_table(request: Request) -> tuple[str, int | None, int, int]:
    """The table, version, page and page size a table page (or its download) asks for."""
    return (
        params.path_text(request, "name"),
        params.number(request, "version"),
        params.number(request, "page", minimum=1, default=1),
        params.number(request, "page_size", minimum=1, maximum=MAX_PAGE_SIZE, default=PAGE_SIZE),
    )


def table(lake: Lake, request: Request) -> dict[str, Any]:
    return table_details(lake, *page_of_table(request))


def invalid(lake: Lake, request: Request) -> list[dict[str, Any]]:
    """``agrolake invalid --json``."""
    return reports.invalid_files(lake)


def quarantine_filters(lake: Lake, request: Request) -> tuple[str | None, str | None, str | None]:
    """The table (its SQL name), check and ingest the quarantine page is narrowed to."""
    name = params.text(request, "table", limit=200)
    ingest = params.text(request, "ingest", limit=40)
    return (
        known_table(lake, name).sql_name if name else None,
        params.text(request, "check", limit=500),
        params.ingest_id(ingest) if ingest else None,
    )


def quarantine(lake: Lake, request: Request) -> dict[str, Any]:
    return quarantine_report(lake, *quarantine_filters(lake, request))


def _lineage_subject(request: Request) -> tuple[str, str, int | None]:
    """Exactly one of ``file``, ``table`` (with ``version``) or ``model``."""
    given = {k: params.text(request, k) for k in ("file", "table", "model")}
    named = [(k, v) for k, v in given.items() if v is not None]
    if len(named) != 1:
        raise params.BadParameter("give one of file=, table= (and version=) or model=")
    kind, value = named[0]
    return kind, value, params.number(request, "version")


def _known_model(lake: Lake, reference: str) -> str:
    """A model reference, once there is a registry to look in (a read-only page must not
    create the embedded MLflow database)."""
    if not has_registry(lake):
        raise UsageError(f"no model {reference!r}: no model has been trained yet")
    return reference


def _lineage(
    lake: Lake,
    request: Request,
    of_table: Callable[[Lake, str, int | None], Any],
    of_model: Callable[[Lake, str], Any],
    of_file: Callable[[Lake, str], Any],
) -> Any:
    """The answer about the one subject the request names."""
    kind, value, version = _lineage_subject(request)
    if kind == "table":
        return of_table(lake, value, version)
    if kind == "model":
        return of_model(lake, _known_model(lake, value))
    return of_file(lake, value)


def lineage(lake: Lake, request: Request) -> Any:
    """``agrolake lineage [KEY|--table|--model] --json``."""
    return _lineage(lake, request, provenance.of_table, provenance.of_model, provenance.of_key)


def lineage_graph_view(lake: Lake, request: Request) -> dict[str, Any]:
    return _lineage(  # type: ignore[no-any-return]
        lake, request, lineage_graph.of_table, lineage_graph.of_model, lineage_graph.of_file
    )


def models(lake: Lake, request: Request) -> dict[str, Any]:
    return registered_models(lake)


def twin_list(lake: Lake, request: Request) -> dict[str, Any]:
    return enclosures(lake, params.text(request, "q", limit=100))


def twin(lake: Lake, request: Request) -> dict[str, Any]:
    return enclosure(lake, params.path_text(request, "enclosure_id", limit=100))


def quality(lake: Lake, request: Request) -> list[dict[str, Any]]:
    """``agrolake quality [INGEST_ID|--table NAME] --json``."""
    ingest = params.text(request, "ingest", limit=40)
    return quality_reports(
        lake, params.ingest_id(ingest) if ingest else None, params.text(request, "table", limit=200)
    )


def ingest(lake: Lake, request: Request) -> dict[str, Any]:
    """One ingest: its journey, the reason report if rejected, quality reports, lineage."""
    ingest_id = params.ingest_id(params.path_text(request, "ingest_id", limit=40))
    found = lake.catalog.get(ingest_id)
    if found is None:
        raise UsageError(f"no ingest {ingest_id!r}")
    return {
        **ingest_outcome(found),
        "sha256": found.sha256,
        "source": found.source,
        "raw_key": found.raw_key,
        "invalid_key": found.invalid_key,
        "duplicate_of": found.duplicate_of,
        "details": found.details,
        "quality": quality_reports(lake, ingest_id) if found.status == "trusted" else [],
        "tables": provenance.of_key(lake, ingest_id)[0]["tables"],
    }

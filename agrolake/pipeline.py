"""The whole lake run, landing → raw → trusted → refined, and rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agrolake.lake import Lake
from agrolake.lake.tables import TableRef, parse_table
from agrolake.ml.retrain import retrain_if_needed
from agrolake.ml.training import TrainingResult
from agrolake.zones.landing import LandingSummary, Outcome, process_landing
from agrolake.zones.refined import REFINED, RefinedSummary, build, process_refined
from agrolake.zones.trusted import (
    TableWrite,
    TrustedSummary,
    process_trusted,
    rebuild_trusted,
    trusted_refs,
)


@dataclass
class RunSummary:
    landing: LandingSummary
    trusted: TrustedSummary
    refined: RefinedSummary
    training: TrainingResult | None = None

    def lines(self) -> list[str]:
        lines = [self.landing.line(), self.trusted.line(), self.refined.line()]
        return [*lines, self.training.line()] if self.training else lines


def run_all(
    lake: Lake,
    *,
    on_listed: Callable[[int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunSummary:
    """Process everything pending: new files to raw, raw ingests to trusted, the
    refined tables whose inputs changed, then (embedded profile) retrain the model
    if its table has a version it was not trained on."""
    landing = process_landing(lake, on_listed=on_listed, on_outcome=on_outcome)
    trusted = process_trusted(lake)
    refined = process_refined(lake)
    training = retrain_if_needed(lake) if lake.settings.retrain_on_run else None
    return RunSummary(landing, trusted, refined, training)


def all_tables() -> list[TableRef]:
    return [*trusted_refs(), *(r.ref for r in REFINED)]


def rebuild(lake: Lake, names: list[str] | None = None) -> list[TableWrite]:
    """Rebuild tables from raw (trusted) or from trusted (refined); ``None``: all of them.

    Rebuilding a trusted table also rebuilds the refined tables that read it.
    """
    known = [r for r in all_tables() if r.id != "quarantine.rows"]
    chosen = known if names is None else [parse_table(n, known) for n in names]
    writes = [rebuild_trusted(lake, r.id) for r in chosen if r.zone == "trusted"]
    rebuilt = {r for r in chosen if r.zone == "trusted"}
    for table in REFINED:
        if table.ref in chosen or rebuilt & set(table.inputs):
            versions = {ref: lake.tables.version(ref) for ref in table.inputs}
            if all(versions[ref] is not None for ref in table.required):
                writes.append(build(lake, table, versions))
    return writes

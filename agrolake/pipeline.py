"""The whole lake run, landing → raw → trusted → refined, and rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agrolake.datasets.registry import load_registry
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.tables import QUARANTINE, TableRef, parse_table
from agrolake.maintenance import MaintenanceReport, maintain_due
from agrolake.ml.retrain import retrain_if_needed
from agrolake.ml.training import TrainingResult
from agrolake.zones.landing import LandingSummary, Outcome, process_landing
from agrolake.zones.refined import RefinedSummary, build, inputs_of, process_refined, ready
from agrolake.zones.trusted import TableWrite, TrustedSummary, process_trusted, rebuild_trusted


@dataclass
class RunSummary:
    landing: LandingSummary
    trusted: TrustedSummary
    refined: RefinedSummary
    training: TrainingResult | None = None
    problems: list[str] = field(default_factory=list)  # declaration files left out
    maintained: MaintenanceReport | None = None  # tables that reached their commit count

    @property
    def stopped(self) -> str | None:
        """Why an outage stopped the run (what was done before it is in the summary)."""
        return self.landing.stopped or self.trusted.stopped

    def lines(self) -> list[str]:
        lines = [self.landing.line(), self.trusted.line(), self.refined.line()]
        if self.maintained:
            lines.append(self.maintained.lines()[-1])
        return [*lines, self.training.line()] if self.training else lines


def run_all(
    lake: Lake,
    *,
    on_listed: Callable[[int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_progress: ProgressCallback = no_progress,
) -> RunSummary:
    """Process everything pending: new files to raw, raw ingests to trusted, the
    refined tables whose inputs changed, then (embedded profile) retrain the model
    if its table has a version it was not trained on."""
    landing = process_landing(lake, on_listed=on_listed, on_outcome=on_outcome)
    if landing.stopped:  # the store or the catalog is out: nothing further can work
        return RunSummary(landing, TrustedSummary(), RefinedSummary())
    registry = load_registry(lake.settings)
    trusted = process_trusted(lake, registry=registry, on_progress=on_progress)
    problems = [p.line() for p in registry.problems]
    if trusted.stopped:
        return RunSummary(landing, trusted, RefinedSummary(), problems=problems)
    refined = process_refined(lake, registry=registry, on_progress=on_progress)
    maintained = maintain_due(lake) if trusted.writes or refined.writes else None
    training = retrain_if_needed(lake) if lake.settings.retrain_on_run else None
    return RunSummary(landing, trusted, refined, training, problems, maintained)


def rebuild(
    lake: Lake, names: list[str] | None = None, on_progress: ProgressCallback = no_progress
) -> list[TableWrite]:
    """Rebuild tables from raw (trusted) or from trusted (refined); ``None``: all of them.

    Rebuilding a trusted table also rebuilds the refined tables that read it. The
    declarations are read as they are now, so an edited declaration applies.
    """
    registry = load_registry(lake.settings)
    known = [r for r in registry.table_refs() if r != QUARANTINE]
    chosen = known if names is None else [parse_table(n, known) for n in names]
    trusted = [r for r in chosen if r.zone == "trusted"]
    refined = [
        t
        for t in registry.refined
        if TableRef("refined", t.name) in chosen or set(trusted) & set(inputs_of(registry, t))
    ]
    total = len(trusted) + len(refined)
    writes: list[TableWrite] = []
    for ref in trusted:
        on_progress(f"rebuilding {ref.sql_name}", len(writes), total)
        if (write := rebuild_trusted(lake, ref.id, registry)) is not None:
            writes.append(write)
    for done, table in enumerate(refined, start=len(trusted)):
        on_progress(f"rebuilding refined.{table.name.replace('.', '_', 1)}", done, total)
        versions = ready(lake, registry, table)
        if versions is not None:
            writes.append(build(lake, registry, table, versions))
    on_progress("rebuilt", total, total)
    return writes

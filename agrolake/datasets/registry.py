"""The registry: every dataset the lake knows (built-in modules and declaration files)
and the refined tables built on them, loaded together and checked as a whole.

It replaces every hand-kept list: landing recognises the enabled datasets,
trusted writes their tables, refined builds its tables from their inputs, and
status, query and lineage list what the registry lists. A declaration that
clashes with another (an id taken, a table fed with other types or key) is left
out as a problem; the others load.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from agrolake.datasets import builtin as builtin_package
from agrolake.datasets.declarations import Problem, declaration_files, parse_declaration
from agrolake.datasets.model import Dataset, RefinedTable, Table
from agrolake.errors import UsageError
from agrolake.lake.settings import Settings
from agrolake.lake.tables import QUARANTINE, TableRef


@dataclass(frozen=True)
class Registry:
    """The datasets (enabled or not) and refined tables of a lake, and why any
    declaration was left out."""

    datasets: tuple[Dataset, ...]
    refined: tuple[RefinedTable, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def enabled(self) -> tuple[Dataset, ...]:
        return tuple(d for d in self.datasets if d.enabled)

    def get(self, dataset_id: str) -> Dataset | None:
        return next((d for d in self.datasets if d.id == dataset_id), None)

    def dataset(self, dataset_id: str) -> Dataset:
        found = self.get(dataset_id)
        if found is None:
            known = ", ".join(d.id for d in self.datasets)
            raise UsageError(f"no dataset {dataset_id!r}; known datasets: {known}")
        return found

    def feeds(self, table: str) -> list[tuple[Dataset, Table]]:
        """The enabled datasets writing the trusted table ``table`` (id or SQL name)."""
        return [
            (d, t)
            for d in self.enabled
            for t in d.tables
            if table in (t.name, TableRef("trusted", t.table_name).sql_name)
        ]

    def trusted_refs(self) -> list[TableRef]:
        """Every trusted table of an enabled dataset (once), then the quarantine table."""
        refs = dict.fromkeys(
            TableRef("trusted", t.table_name) for d in self.enabled for t in d.tables
        )
        return [*refs, QUARANTINE]

    def refined_refs(self) -> list[TableRef]:
        return [TableRef("refined", r.name) for r in self.refined]

    def table_refs(self) -> list[TableRef]:
        return [*self.trusted_refs(), *self.refined_refs()]

    def refined_table(self, ref: TableRef) -> RefinedTable:
        return next(r for r in self.refined if TableRef("refined", r.name) == ref)


@cache
def builtin() -> tuple[tuple[Dataset, ...], tuple[RefinedTable, ...]]:
    """The built-in datasets and refined tables: every module of ``builtin/``."""
    datasets: list[Dataset] = []
    refined: list[RefinedTable] = []
    for module in pkgutil.iter_modules(builtin_package.__path__):
        loaded = importlib.import_module(f"{builtin_package.__name__}.{module.name}")
        datasets += [loaded.DATASET] if hasattr(loaded, "DATASET") else []
        refined += getattr(loaded, "REFINED", ())
    return tuple(sorted(datasets, key=lambda d: d.id)), tuple(refined)


def load_registry(settings: Settings) -> Registry:
    """The built-in datasets with the declaration files of ``settings`` beside them."""
    datasets, refined = builtin()
    problems: list[Problem] = []
    declared: list[Dataset] = []
    for address, data in declaration_files(settings):
        parsed = parse_declaration(address, data)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        else:
            declared.append(parsed)
    kept = list(datasets)
    for dataset in declared:
        problem = clash(dataset, kept, refined)
        if problem is not None:
            problems.append(Problem(dataset.origin, *problem))
        else:
            kept.append(dataset)
    return Registry(tuple(kept), refined, tuple(problems))


def registry_of(datasets: Iterable[Dataset], refined: Iterable[RefinedTable] = ()) -> Registry:
    """A registry of the given datasets only (tests, benchmarks)."""
    return Registry(tuple(datasets), tuple(refined))


def clash(
    dataset: Dataset, loaded: list[Dataset], refined: Iterable[RefinedTable]
) -> tuple[str, str] | None:
    """(key, message) when ``dataset`` cannot join the ``loaded`` ones, else None."""
    same = next((d for d in loaded if d.id == dataset.id), None)
    if same is not None:
        owner = "a built-in dataset" if same.builtin else f"declared in {same.origin}"
        return "id", f"{dataset.id} is {owner}; choose another id"
    for index, table in enumerate(dataset.tables):
        key = f"tables[{index}].name" if len(dataset.tables) > 1 else "id"
        sql = TableRef("trusted", table.table_name).sql_name
        if sql == QUARANTINE.sql_name:
            return key, f"{sql} is agrolake's quarantine table"
        taken = {
            TableRef("trusted", t.table_name).sql_name: t.name for d in loaded for t in d.tables
        }
        if taken.get(sql, table.name) != table.name:
            return key, f"{table.name} and {taken[sql]} would both be {sql} in SQL"
        for other in (t for d in loaded for t in d.tables if t.name == table.name):
            reason = incompatible(table, other)
            if reason:
                return key, f"feeds {TableRef('trusted', other.table_name)} too, but {reason}"
    return None


def incompatible(table: Table, other: Table) -> str | None:
    """Why two declarations cannot write one table (None when they can)."""
    if table.key != other.key:
        return f"its key is ({', '.join(table.key)}), not ({', '.join(other.key)})"
    if table.write_mode != other.write_mode or table.partition_by != other.partition_by:
        return "its write policy or partitions differ"
    theirs = {f.name: f.type for f in other.fields}
    for field in table.fields:
        if field.name in theirs and theirs[field.name] != field.type:
            return f"{field.name} is {theirs[field.name]} there and {field.type} here"
    return None

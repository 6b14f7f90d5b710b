"""SQL over the trusted and refined tables, by their SQL names, with time travel.

DuckDB's delta extension downloads itself at first use, which the machines we
run on cannot do; Delta tables are registered as Arrow datasets instead.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from agrolake.answers.inventory import queryable_tables
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import (
    NO_LONGER_READABLE,
    QUARANTINE,
    QUARANTINE_SCHEMA,
    TableRef,
    parse_table,
)


def tables(lake: Lake) -> list[TableRef]:
    """The tables SQL can name: declared and orphaned."""
    return queryable_tables(lake, load_registry(lake.settings))


def parse_as_of(lake: Lake, pairs: list[str]) -> dict[str, int]:
    """``["trusted.erp_parcels=3"]`` → ``{"trusted.erp_parcels": 3}``."""
    found = {}
    known = tables(lake)
    for pair in pairs:
        name, _, version = pair.partition("=")
        if not version.strip().isdigit():
            raise UsageError(f"--as-of takes TABLE=VERSION, not {pair!r}")
        found[parse_table(name.strip(), known).sql_name] = int(version)
    return found


def query(lake: Lake, sql: str, as_of: dict[str, int] | None = None) -> pa.Table:
    """Run ``sql`` over every table that exists; ``as_of`` pins table versions."""
    as_of = as_of or {}
    connection = duckdb.connect()
    for zone in ("trusted", "refined"):
        connection.execute(f"CREATE SCHEMA {zone}")
    for ref in tables(lake):
        dataset = lake.tables.dataset(ref, as_of.get(ref.sql_name))
        if dataset is None and ref == QUARANTINE:
            dataset = QUARANTINE_SCHEMA.empty_table()  # a lake from before it existed
        if dataset is None:
            continue
        alias = ref.sql_name.replace(".", "__")
        connection.register(alias, dataset)
        zone, name = ref.sql_name.split(".", 1)
        connection.execute(f'CREATE VIEW {zone}."{name}" AS SELECT * FROM "{alias}"')
    try:
        relation = connection.sql(sql)
        return pa.table({}) if relation is None else relation.to_arrow_table()
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise UsageError(_vacuumed(message, as_of) or f"query failed: {message}") from exc
    finally:
        connection.close()


def _vacuumed(message: str, as_of: dict[str, int]) -> str | None:
    """The error of reading a version whose files maintenance removed, said as such."""
    if "not found" not in message:
        return None
    for name, version in as_of.items():
        if f"'{name.replace('.', '__')}'" in message:
            return f"query failed: {name} version {version} {NO_LONGER_READABLE}"
    return None

"""Flow: raw → trusted, for every raw ingest not yet in the trusted tables.

``python -m etl.trusted`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from agrolake.lake import open_lake
from agrolake.trusted import process_trusted
from etl.report import report


@task(name="trust-raw-ingests", retries=2, retry_delay_seconds=10)
def trust_raw_ingests() -> dict[str, int]:
    with open_lake() as lake:
        summary = process_trusted(lake)
    report(summary.line())
    return {w.table: w.version for w in summary.writes}


@flow(name="trusted", log_prints=False)
def trusted() -> dict[str, int]:
    """Clean, type and check raw ingests into the trusted Delta tables."""
    return trust_raw_ingests()


if __name__ == "__main__":
    trusted()

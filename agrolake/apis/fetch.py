"""What every API ingestion shares: requests per subject, the run summary, landing answers.

A run asks, for each subject (a location, an enclosure), the days after the
last one the lake knows, up to yesterday. Each answer is complete before it is
landed (one JSON file per request, written create-only), so a failed request
lands nothing and the others go on; the summary names every failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from agrolake.apis.client import ApiClient
from agrolake.datasets.builtin.erp_parcels_and_treatments import DATASET as PARCELS_AND_TREATMENTS
from agrolake.errors import ApiError, ApiUnreachable, ConfigError
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.tables import TableRef
from agrolake.zones.uploads import put_unique

PARCELS = TableRef("trusted", PARCELS_AND_TREATMENTS.tables[0].table_name)


@dataclass(frozen=True)
class Request:
    """Days ``start`` to ``end`` (both included) for one subject."""

    subject: str
    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.subject} {self.start}…{self.end}"


@dataclass(frozen=True)
class Landed:
    """One answer written to landing."""

    subject: str
    start: date
    end: date
    key: str
    rows: int


@dataclass
class FetchSummary:
    """What one API run asked and landed; ``failed`` maps subjects to the reason."""

    source: str
    requests: list[Request] = field(default_factory=list)
    landed: list[Landed] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    up_to_date: int = 0
    unknown: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        parts = [f"{len(self.landed)} landed ({sum(x.rows for x in self.landed)} days)"]
        if self.empty:
            parts.append(f"{len(self.empty)} without new values")
        if self.up_to_date:
            parts.append(f"{self.up_to_date} up to date")
        if self.unknown:
            parts.append(f"{len(self.unknown)} without a location")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        asked = len(self.requests)
        return (
            f"{self.source}: {asked} request{'' if asked == 1 else 's'} → {', '.join(parts)} "
            f"({self.seconds:.1f} s)"
        )

    def lines(self) -> list[str]:
        """The summary line, then one line per failed request (each names its subject)."""
        return [self.line(), *(f"  failed: {reason}" for reason in self.failed.values())]

    def failure(self) -> ApiError | None:
        """One error for the whole run, or None when no request failed."""
        if not self.failed:
            return None
        first = next(iter(self.failed.values()))
        more = f" (and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ""
        return ApiError(
            f"{self.source}: {len(self.failed)} of {len(self.requests)} requests failed; "
            f"nothing landed for them: {first}{more}",
            failed=dict(self.failed),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "requests": [
                {"subject": r.subject, "start": r.start.isoformat(), "end": r.end.isoformat()}
                for r in self.requests
            ],
            "landed": [
                {
                    "subject": x.subject,
                    "start": x.start.isoformat(),
                    "end": x.end.isoformat(),
                    "key": x.key,
                    "rows": x.rows,
                }
                for x in self.landed
            ],
            "empty": self.empty,
            "up_to_date": self.up_to_date,
            "unknown": self.unknown,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


def yesterday(timezone: str) -> date:
    """Yesterday in ``timezone`` (the last day a daily archive can be complete)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"AGROLAKE_WEATHER_TIMEZONE {timezone!r} is not a time zone (e.g. Europe/Madrid)"
        ) from exc
    return datetime.now(zone).date() - timedelta(days=1)


def enclosures(lake: Lake) -> pl.DataFrame:
    """Every enclosure-year of ``trusted.erp_parcels``: id, location, harvest year."""
    dataset = lake.tables.dataset(PARCELS)
    schema = {"enclosure_id": pl.String, "location_id": pl.String, "harvest_year": pl.Int32}
    if dataset is None:
        return pl.DataFrame(schema=schema)
    return (
        pl.scan_pyarrow_dataset(dataset)
        .select(
            "enclosure_id",
            pl.concat_str("province_id", "municipality_id", separator="-").alias("location_id"),
            "harvest_year",
        )
        .unique()
        .collect()
    )


def first_day(enclosure_years: pl.DataFrame, configured: date | None, spans_new_year: bool) -> date:
    """The first day to ask for a subject the lake knows nothing of.

    The configured start date, else 1 January of the earliest harvest year (of the
    year before when the season starts the year before the harvest).
    """
    if configured is not None:
        return configured
    earliest = enclosure_years["harvest_year"].min()
    year = int(earliest) if isinstance(earliest, int) else date.today().year
    return date(year - 1 if spans_new_year else year, 1, 1)


def last_days(lake: Lake, ref: TableRef, subject: str, measured: Sequence[str]) -> dict[str, date]:
    """Per subject, the last day with a value in any ``measured`` column of the table.

    Days without values (an archive that is not complete yet) do not count, so
    the next run asks for them again.
    """
    dataset = lake.tables.dataset(ref)
    if dataset is None:
        return {}
    frame = (
        pl.scan_pyarrow_dataset(dataset)
        .filter(pl.any_horizontal(pl.col(c).is_not_null() for c in measured))
        .group_by(subject)
        .agg(pl.col("date").max())
        .collect()
    )
    return {row[subject]: row["date"] for row in frame.iter_rows(named=True)}


def plan(
    subjects: Sequence[str],
    last: dict[str, date],
    *,
    first: date,
    until: date,
    since: date | None,
) -> tuple[list[Request], int]:
    """One request per subject from the day after its last known one (or ``since``, or
    ``first``) to ``until``; and how many subjects were already up to date."""
    requests, current = [], 0
    for subject in subjects:
        start = since or (last[subject] + timedelta(days=1) if subject in last else first)
        if start > until:
            current += 1
        else:
            requests.append(Request(subject, start, until))
    return requests, current


def fetch_all(
    lake: Lake,
    client: ApiClient,
    summary: FetchSummary,
    answer: Callable[[Request], tuple[dict[str, Any], int] | None],
    key: Callable[[Request], str],
    on_progress: ProgressCallback = no_progress,
) -> FetchSummary:
    """Ask every request of ``summary`` (paced) and land each answer that has values.

    ``answer`` returns the document to land and its number of rows, or None when
    the answer holds no values; an ApiError fails that request only, except
    :class:`ApiUnreachable` (no network), which stops the run at once.
    """
    started = time.perf_counter()
    total = len(summary.requests)
    for done, request in enumerate(client.paced(summary.requests)):
        on_progress(request.subject, done, total)
        try:
            answered = answer(request)
        except ApiUnreachable as exc:
            landed = len(summary.landed)
            kept = f"; the {landed} answers landed before stay" if landed else ""
            raise ApiUnreachable(
                f"{summary.source}: {exc.message}; stopped at request {done + 1} of {total}{kept}"
            ) from exc
        except ApiError as exc:
            summary.failed[request.subject] = exc.message
            continue
        if answered is None:
            summary.empty.append(request.subject)
            continue
        document, rows = answered
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        landed_key = put_unique(lake, data, key(request))
        summary.landed.append(Landed(request.subject, request.start, request.end, landed_key, rows))
    on_progress("", total, total)
    summary.seconds = time.perf_counter() - started
    return summary

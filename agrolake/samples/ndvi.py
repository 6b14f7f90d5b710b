"""NDVI of the sample enclosures: files dropped by hand, and the teledetection service's answers.

A growing almond orchard greens up from March to June and browns towards
October; one Sentinel-2-like pass every five days, a third of them lost to
clouds. Values are samples, not observations.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agrolake.samples.parcels import Parcel

REVISIT_DAYS = 5
CLOUDY = 0.3


def ndvi_values(
    enclosure_id: str, start: date, end: date, *, seed: int = 7
) -> list[tuple[date, float]]:
    """The clear-sky passes over an enclosure from ``start`` to ``end`` with their NDVI."""
    rng = random.Random(f"{seed}:ndvi:{enclosure_id}")
    vigour = rng.uniform(0.8, 1.1)
    first_pass = rng.randrange(REVISIT_DAYS)
    found = []
    day = start + timedelta(days=first_pass)
    while day <= end:
        if rng.random() >= CLOUDY:
            season = math.sin(math.pi * (day.timetuple().tm_yday - 45) / 300)
            value = (0.22 + 0.45 * max(season, 0.0)) * vigour + rng.gauss(0, 0.025)
            found.append((day, round(min(max(value, -1.0), 1.0), 4)))
        day += timedelta(days=REVISIT_DAYS)
    return found


def write_ndvi_csv(path: Path, parcels: list[Parcel], *, seed: int = 7) -> Path:
    """NDVI exported by hand for each parcel's growing season (March to October).

    The Spanish spreadsheet way: semicolons, dd/mm/yyyy dates, decimal commas.
    """
    lines = ["date;enclosure_id;ndvi"]
    for parcel in parcels:
        season = (date(parcel.harvest, 3, 1), date(parcel.harvest, 10, 31))
        for day, value in ndvi_values(parcel.recinto_id, *season, seed=seed):
            shown = f"{value:.4f}".replace(".", ",")
            lines.append(f"{day:%d/%m/%Y};{parcel.recinto_id};{shown}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ndvi_service_answer(
    enclosure_id: str, start: date, end: date, *, operation: str = "ndvi", seed: int = 7
) -> dict[str, Any]:
    """The teledetection service's answer for one enclosure and period."""
    values = ndvi_values(enclosure_id, start, end, seed=seed)
    return {
        "id": enclosure_id,
        "operation": operation,
        "initdate": start.isoformat(),
        "enddate": end.isoformat(),
        "values": [{"date": d.isoformat(), "ndvi": v} for d, v in values],
    }


def write_ndvi_service(
    path: Path, enclosure_id: str, start: date, end: date, *, seed: int = 7
) -> Path:
    """An answer of the teledetection service as the NDVI flow lands it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = ndvi_service_answer(enclosure_id, start, end, seed=seed)
    path.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    return path

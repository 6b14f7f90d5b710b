"""The digital twin's charts as SVG drawn on the server: a growing season's daily
weather (temperature band, mean, rain bars, frost days) and NDVI per year.

Plain SVG with presentation attributes only (the pages' content security policy
allows no inline styles or scripts); a gap in the data is a gap in the line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup, escape

from agrolake.ui.formatting import format_float

W, H = 660, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 14, 28
YEAR_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def season_bounds(year: int, start: str, end: str) -> tuple[date, date]:
    """First and last day of harvest year ``year``'s season (``MM-DD`` bounds)."""
    (sm, sd), (em, ed) = (tuple(int(p) for p in t.split("-")) for t in (start, end))
    first = date(year - 1 if (sm, sd) > (em, ed) else year, sm, sd)
    return first, date(year, em, ed)


def _x(day: date, first: date, days: int) -> float:
    return LEFT + (day - first).days / max(days, 1) * (W - LEFT - RIGHT)


def _y(value: float, low: float, high: float) -> float:
    return TOP + (high - value) / (high - low) * (H - TOP - BOTTOM)


def _segments(points: Iterable[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of points without a gap (None)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


def _polyline(run: Sequence[tuple[float, float]], css: str, colour: str | None = None) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
    stroke = f' stroke="{colour}"' if colour else ""
    return f'<polyline class="{css}"{stroke} points="{coords}"/>'


def _frame(first: date, last: date, title: str) -> list[str]:
    """The SVG element, its title and the month ticks of the x axis."""
    days = (last - first).days
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            x = _x(month, first, days)
            parts.append(
                f'<line class="tick" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}"/>'
            )
            parts.append(
                f'<text class="axis" x="{x + 3:.1f}" y="{H - 10}">{MONTHS[month.month - 1]}</text>'
            )
        month = (month + timedelta(days=32)).replace(day=1)
    return parts


def _grid(low: float, high: float, step: float, unit: str, right: bool = False) -> list[str]:
    parts = []
    value = low
    while value <= high + 1e-9:
        y = _y(value, low, high)
        if not right:
            css = "zero" if value == 0 else "grid"
            parts.append(
                f'<line class="{css}" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
            )
        x, anchor = (W - RIGHT + 4, "start") if right else (LEFT - 4, "end")
        parts.append(
            f'<text class="axis" x="{x}" y="{y + 4:.1f}" text-anchor="{anchor}">'
            f"{format_float(value)}{unit}</text>"
        )
        value += step
    return parts


def weather_chart(season: dict[str, Any], start: str, end: str) -> Markup:
    """One season: min–max temperature band, daily mean, rain bars, frost days marked."""
    first, last = season_bounds(season["year"], start, end)
    days_total = (last - first).days
    days = season["days"]
    temps = [v for d in days for v in (d["min_c"], d["max_c"], d["mean_c"]) if v is not None]
    low = min(-10.0, (min(temps) // 10) * 10) if temps else -10.0
    high = max(40.0, (max(temps) // 10 + 1) * 10) if temps else 40.0
    rains = [d["rain_mm"] for d in days if d["rain_mm"] is not None]
    rain_top = max(20.0, -(-max(rains, default=0) // 10) * 10)
    parts = _frame(first, last, f"Weather, season {season['year']}")
    parts += _grid(low, high, 10, "°")
    parts += _grid(0, rain_top, rain_top / 2, " mm", right=True)
    bar = max(1.0, (W - LEFT - RIGHT) / max(days_total, 1) - 0.6)
    for d in days:
        if d["rain_mm"]:
            x = _x(d["date"], first, days_total)
            y = _y(d["rain_mm"], 0, rain_top)
            parts.append(
                f'<rect class="rain" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{H - BOTTOM - y:.1f}"/>'
            )
    band = [
        (_x(d["date"], first, days_total), d["min_c"], d["max_c"])
        for d in days
        if d["min_c"] is not None and d["max_c"] is not None
    ]
    if band:
        upper = " ".join(f"{x:.1f},{_y(hi, low, high):.1f}" for x, _, hi in band)
        lower = " ".join(f"{x:.1f},{_y(lo, low, high):.1f}" for x, lo, _ in reversed(band))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
    mean = [
        (
            _x(d["date"], first, days_total),
            None if d["mean_c"] is None else _y(d["mean_c"], low, high),
        )
        for d in days
    ]
    parts += [_polyline(run, "mean") for run in _segments(mean)]
    for d in days:
        if d["min_c"] is not None and d["min_c"] < 0:
            x, y = _x(d["date"], first, days_total), _y(d["min_c"], low, high)
            tip = f"frost {d['date']}: {format_float(d['min_c'])} °C"
            parts.append(
                f'<circle class="frost" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{tip}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def ndvi_chart(years: list[dict[str, Any]], start: str, end: str) -> Markup:
    """NDVI over the season, one line per harvest year, on one calendar of the season."""
    if not years:
        return Markup("")
    reference = years[-1]["year"]
    first, last = season_bounds(reference, start, end)
    days_total = (last - first).days
    parts = _frame(first, last, "NDVI per season")
    parts += _grid(0, 1, 0.25, "")
    for i, season in enumerate(years):
        shift = reference - season["year"]
        colour = YEAR_COLOURS[i % len(YEAR_COLOURS)]
        points = [
            (
                _x(_moved(p["date"], shift), first, days_total),
                None if p["ndvi"] is None else _y(max(0.0, min(1.0, p["ndvi"])), 0, 1),
            )
            for p in season["points"]
        ]
        parts += [_polyline(run, "ndvi", colour) for run in _segments(points)]
        parts.append(
            f'<text class="legend" x="{LEFT + 8 + i * 56}" y="{TOP + 12}" fill="{colour}">'
            f"{season['year']}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _moved(day: date, years: int) -> date:
    """``day`` moved by whole years (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)

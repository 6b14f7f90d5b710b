"""Values formatted by type, the same in web pages and in the terminal: numbers with
readable precision, dates as ISO days, nulls as a dash, lists joined."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

NULL = "–"
#: Integers this large get digit groups (years, counts of a few thousand do not).
GROUP_FROM = 10_000
THIN_SPACE = "\u202f"


def format_value(value: Any) -> str:
    """A cell's text."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", THIN_SPACE) if abs(value) >= GROUP_FROM else str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (" UTC" if value.utcoffset() is not None and not value.utcoffset() else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def format_float(value: float) -> str:
    """Up to four decimals (two from 1,000 on), no trailing zeros: 0.5464, 21.5306,
    72.4 (not 72.39999999999999), 16402.5."""
    if value != value:  # NaN
        return "NaN"
    text = f"{value:.{4 if abs(value) < 1000 else 2}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def kind_of(value: Any) -> str:
    """A CSS class for a cell: numbers align right, nulls are faint."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, date):
        return "date"
    return "text"


def format_bytes(size: int | None) -> str:
    if size is None:
        return NULL
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1000  # type: ignore[assignment]
    return str(size)


def format_moment(text: str | None) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC), for lists."""
    if not text:
        return NULL
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo else "")


def pretty_json(text: str | None) -> str:
    """JSON text indented for reading (text that is not JSON comes back as it was)."""
    if not text:
        return NULL
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=1)
    except ValueError:
        return text


def rounded(value: Any, digits: int = 1) -> str:
    """A figure for reading, not for copying: 19.3078 °C → 19.3 (non-numbers as usual)."""
    if isinstance(value, float) and value == value:
        return f"{value:.{digits}f}"
    return format_value(value)

"""Every parameter a visitor sends, validated before it reaches the lake: a malformed
one is a 400 page, an unknown name a 404 page (``UsageError`` from the answers),
never a 500. Links between pages are built here too, so they escape alike."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

MAX_TEXT = 1000
MAX_NUMBER = 10**9
INGEST_ID = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[0-9a-f]{8}$")


class BadParameter(Exception):
    """A parameter that cannot mean anything (not a number, too long): answered 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text(request: Request, name: str, *, limit: int = MAX_TEXT) -> str | None:
    """A query parameter's text (None when absent or blank)."""
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > limit or "\x00" in value:
        raise BadParameter(f"{name} is at most {limit} characters of text")
    return value.strip()


def number(
    request: Request,
    name: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_NUMBER,
    default: int | None = None,
) -> Any:
    """A whole-number query parameter (``default`` when absent)."""
    value = text(request, name, limit=12)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not minimum <= int(value) <= maximum:
        raise BadParameter(
            f"{name} takes a whole number from {minimum} to {maximum}, not {value!r}"
        )
    return int(value)


def path_text(request: Request, name: str, *, limit: int = 200) -> str:
    value = str(request.path_params[name])
    if len(value) > limit or "\x00" in value:
        raise BadParameter(f"{name} is at most {limit} characters")
    return value


def ingest_id(value: str) -> str:
    if not INGEST_ID.match(value):
        raise BadParameter(f"{value!r} is not an ingest id (like 20261126T041458123456Z-1a2b3c4d)")
    return value


def link(path: str, *segments: object, **query: object) -> str:
    """``path`` plus quoted path segments and the query parameters that are not None."""
    url = path + "".join("/" + quote(str(s), safe="") for s in segments)
    given = {k: v for k, v in query.items() if v is not None}
    return url + (f"?{urlencode(given)}" if given else "")


def table_link(name: str, version: int | None = None, **query: object) -> str:
    return link("/tables", name, version=version, **query)


def node_link(node: dict[str, Any]) -> str | None:
    """Where a lineage graph node leads: its table version, file, ingest or model."""
    kind = node["kind"]
    if kind == "table":
        return link("/lineage", table=node["table"], version=node["version"])
    if kind == "file":
        return link("/lineage", file=node["file"])
    if kind == "ingest":
        return link("/ingests", node["ingest_id"])
    if kind == "model":
        return link("/lineage", model=f"{node['model']}/{node['version']}")
    return None


def api_path(request: Request) -> str | None:
    """The JSON twin of a page: ``/tables/x?version=1`` → ``/api/tables/x?version=1``."""
    path = request.url.path
    if path in ("/login", "/logout") or path.startswith("/api/"):
        return None
    path = {"/": "/api/overview", "/lineage": "/api/lineage/graph"}.get(path, "/api" + path)
    return path + (f"?{request.url.query}" if request.url.query else "")

"""Fake third-party APIs on 127.0.0.1, serving their documented formats from a thread.

* ``FakeOpenMeteo``: ``GET /v1/archive?latitude=&longitude=&start_date=&end_date=&daily=&timezone=``
  answers ``{"latitude", "longitude", …, "daily_units": {…}, "daily": {"time": […], …}}``
  (Open-Meteo's historical weather API), or 400 ``{"error": true, "reason": …}``.
* ``FakeTeledetection``: ``POST /ndvi`` with ``{"operation", "initdate", "enddate", "id"}``
  and ``Authorization: Bearer <token>`` answers ``{"id", "operation", "values": [{"date",
  "ndvi"}, …]}`` (the seed's NDVI service as agrolake documents it), or 401.

``fail_next(...)`` queues misbehaviours served before normal answers, one per
request: ``"429"`` (with ``Retry-After``), ``"500"``, ``"503"``, ``"400"``,
``"timeout"`` (answers after ``slow_seconds``), ``"malformed"`` (200, cut JSON).
Every request is logged in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from agrolake.datasets.locations import Location, shipped_locations
from agrolake.samples import ndvi_service_answer, open_meteo_answer


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) breaks the pipe: not worth a traceback."""


class FakeApi:
    """A small HTTP server in a thread; subclasses answer ``handle``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.script: deque[str] = deque()
        self.retry_after = "0"
        self.slow_seconds = 2.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                fake._serve(self, body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, *kinds: str) -> None:
        self.script.extend(kinds)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        parsed = urlparse(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        with self._lock:
            self.requests.append(
                Seen(handler.command, parsed.path, query, body, dict(handler.headers.items()))
            )
            kind = self.script.popleft() if self.script else None
        if kind == "timeout":
            time.sleep(self.slow_seconds)
            kind = None
        if kind == "429":
            wait = {"Retry-After": self.retry_after}
            self._send(handler, 429, {"reason": "Too many requests"}, wait)
        elif kind in ("500", "503"):
            self._send(handler, int(kind), {"error": True, "reason": "upstream trouble"})
        elif kind == "400":
            self._send(handler, 400, {"error": True, "reason": "Parameter 'daily' is invalid"})
        elif kind == "malformed":
            self._send_raw(handler, 200, b'{"latitude": 41.3, "daily": {"time": ["2024-03-0')
        else:
            status, answer = self.handle(handler, parsed.path, query, body)
            self._send(handler, status, answer)

    def handle(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        raise NotImplementedError

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_raw(handler, status, json.dumps(answer).encode(), headers)

    @staticmethod
    def _send_raw(
        handler: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class FakeOpenMeteo(FakeApi):
    """Open-Meteo's historical weather API (``/v1/archive``)."""

    REQUIRED = ("latitude", "longitude", "start_date", "end_date")

    def __init__(self) -> None:
        super().__init__()
        self.pending_days = 0  # trailing days answered as null, as the archive does

    @property
    def archive_url(self) -> str:
        return f"{self.url}/v1/archive"

    def handle(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if path != "/v1/archive":
            return 404, {"error": True, "reason": f"no endpoint {path}"}
        missing = [p for p in self.REQUIRED if p not in query]
        if missing:
            return 400, {"error": True, "reason": f"Parameter '{missing[0]}' is required"}
        if "daily" in query and "timezone" not in query:
            return 400, {"error": True, "reason": "Timezone is required"}
        latitude, longitude = float(query["latitude"]), float(query["longitude"])
        place = _nearest(latitude, longitude)
        answer = open_meteo_answer(
            place,
            date.fromisoformat(query["start_date"]),
            date.fromisoformat(query["end_date"]),
            query.get("daily", "").split(",") if query.get("daily") else [],
            wind_speed_unit=query.get("wind_speed_unit", "kmh"),
            timezone=query.get("timezone", "GMT"),
            pending_days=self.pending_days,
        )
        return 200, answer


def _nearest(latitude: float, longitude: float) -> Location:
    for place in shipped_locations():
        if abs(place.latitude - latitude) < 1e-3 and abs(place.longitude - longitude) < 1e-3:
            return place
    return Location(0, 0, latitude, longitude)


class FakeTeledetection(FakeApi):
    """The teledetection NDVI service (``POST /ndvi``)."""

    def __init__(self, token: str = "s3cret-token") -> None:
        super().__init__()
        self.token = token
        self.answer_as_list = False
        self.empty_for: set[str] = set()

    @property
    def ndvi_url(self) -> str:
        return f"{self.url}/ndvi"

    def handle(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "invalid or missing token"}
        if path != "/ndvi" or handler.command != "POST":
            return 404, {"message": f"no endpoint {handler.command} {path}"}
        needed = ("operation", "initdate", "enddate", "id")
        if not isinstance(body, dict) or any(k not in body for k in needed):
            return 400, {"message": f"the body needs {', '.join(needed)}"}
        if body["id"] in self.empty_for:
            return 200, {"id": body["id"], "operation": body["operation"], "values": []}
        answer = ndvi_service_answer(
            body["id"],
            date.fromisoformat(body["initdate"]),
            date.fromisoformat(body["enddate"]),
            operation=body["operation"],
        )
        return 200, answer["values"] if self.answer_as_list else answer

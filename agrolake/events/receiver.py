"""The S3 event receiver: ``POST /s3-events`` wakes the landing flow, coalescing bursts.

A store sends one notification per object, so 500 uploads are 500 requests. Each
is answered at once (202) and only sets a flag; one background loop turns the
flag into at most one ``wake()`` at a time, so a burst becomes a handful of wakes
however many events it holds. What a wake does is the caller's (the Prefect side
makes sure one landing run is queued); this module knows nothing of Prefect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agrolake.events.s3 import MalformedEvent, parse_notification, wakes_landing
from agrolake.lake.http_guard import token_matches

log = logging.getLogger("agrolake.events.receiver")

#: Notifications are small (MinIO sends one record each); anything bigger is not one.
MAX_BODY_BYTES = 1024 * 1024
#: After a failed wake (Prefect unreachable, deployment missing), try again after this.
RETRY_SECONDS = 5.0

Wake = Callable[[], Awaitable[None]]


@dataclass
class Counters:
    events: int = 0  # accepted notifications
    signals: int = 0  # of which named a new landing object
    wakes: int = 0  # wake() calls that succeeded
    failures: int = 0  # wake() calls that raised


class Coalescer:
    """Calls ``wake`` once for any number of ``signal()``s received meanwhile.

    A signal that arrives while a wake is in progress leads to exactly one more
    wake afterwards, so an upload during a wake is never left waiting.
    """

    def __init__(self, wake: Wake, counters: Counters, retry_seconds: float = RETRY_SECONDS):
        self._wake = wake
        self._counters = counters
        self._retry_seconds = retry_seconds
        self._pending = asyncio.Event()

    def signal(self) -> None:
        self._pending.set()

    async def run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self._wake()
                self._counters.wakes += 1
            except Exception as exc:  # the receiver must outlive a Prefect outage
                self._counters.failures += 1
                log.error(
                    "could not wake the landing flow (retrying in %.0f s): %s",
                    self._retry_seconds,
                    exc,
                )
                self._pending.set()
                await asyncio.sleep(self._retry_seconds)


def create_app(token: str, landing_bucket: str, wake: Wake) -> Starlette:
    """The receiver: ``POST /s3-events`` (bearer ``token``) and ``GET /health``."""
    if not token:
        raise ValueError("the webhook needs a token")
    counters = Counters()
    coalescer = Coalescer(wake, counters)

    async def s3_events(request: Request) -> JSONResponse:
        if not token_matches(request.headers.get("authorization", ""), token):
            return _error(401, "missing or wrong bearer token")
        body = await _read_capped(request)
        if body is None:
            return _error(413, f"body over {MAX_BODY_BYTES} bytes")
        try:
            events = parse_notification(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "body is not JSON")
        except RecursionError:  # [[[[…]]]]: Python's parser gives up, which is no 500
            return _error(400, "body is JSON nested too deeply for a notification")
        except MalformedEvent as exc:
            return _error(400, exc.message)
        counters.events += 1
        wakes = wakes_landing(events, landing_bucket)
        if wakes:
            counters.signals += 1
            coalescer.signal()
        return JSONResponse({"records": len(events), "wake": wakes}, status_code=202)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **counters.__dict__})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        loop = asyncio.create_task(coalescer.run())
        yield
        loop.cancel()

    return Starlette(
        routes=[
            Route("/s3-events", s3_events, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (checked as it streams: a chunked
    request has no Content-Length to trust)."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)

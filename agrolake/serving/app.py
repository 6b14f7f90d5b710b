"""The HTTP side: a plain ASGI callable speaking MLflow's scoring protocol, and the alias follower.

No web framework: five routes do not need one, and every layer costs time on a
request that takes microseconds to score (see docs/serving.md for the figures).
``/ping``, ``/health`` and ``/version`` answer what ``mlflow models serve`` answers
(``"\n"`` and MLflow's version string); ``/model`` says what is served.
Every response carries ``X-Model-Version``, the version that produced it: the
handler takes the current model once, at the start of the request, so a swap in
the middle of a request cannot mix two versions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agrolake.errors import AgrolakeError
from agrolake.serving import DEFAULT_MAX_BODY_BYTES, MLFLOW_VERSION, protocol
from agrolake.serving.model_registry import ModelSpec, Registry
from agrolake.serving.refusals import InvalidRequest
from agrolake.serving.runtime import ServedModel, load

log = logging.getLogger("agrolake.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Bodies larger than this are parsed and scored in a worker thread, so a big batch
#: does not hold up /ping and small requests on the event loop.
OFFLOAD_BYTES = 256 * 1024
#: An over-limit body is read and dropped up to this size (so the client sees the
#: 413 instead of a reset connection); past it the connection is closed.
_DRAIN_LIMIT = 64 * 1024 * 1024
_ROUTES = {
    "/invocations": "POST",
    "/ping": "GET",
    "/health": "GET",
    "/version": "GET",
    "/model": "GET",
}
_JSON = b"application/json"


class ModelHolder:
    """The model being served. Replacing :attr:`current` is the atomic swap."""

    def __init__(self, model: ServedModel, spec: ModelSpec) -> None:
        self.current = model
        self.spec = spec


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class ScoringApp:
    """``POST /invocations``, ``GET /ping``, ``/health``, ``/version``, ``/model``.

    ``strict``: refuse the columns and values MLflow would drop or cast (see protocol).
    """

    def __init__(
        self,
        holder: ModelHolder,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        server_version: str = "",
        strict: bool = False,
    ) -> None:
        self.holder = holder
        self.max_body_bytes = max_body_bytes
        self.server_version = server_version
        self.strict = strict
        # One thread: scoring holds the GIL anyway, and big requests queue instead of
        # each holding its parsed body in memory at the same time.
        self._worker: ThreadPoolExecutor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        model = self.holder.current
        try:
            status, body, extra = await self._handle(scope, receive, model)
        except _ClientGone:
            return
        except Exception:  # a bug of ours: answer, log, keep serving
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            status, body, extra = 500, _error("INTERNAL_ERROR", "internal error, see the log"), []
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"x-model-version", model.info.version.encode()),
            *extra,
        ]
        if not any(name == b"content-type" for name, _ in extra):
            headers.append((b"content-type", _JSON))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(
        self, scope: Scope, receive: Receive, model: ServedModel
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        path, method = scope["path"], scope["method"]
        allowed = _ROUTES.get(path.rstrip("/") or "/")
        if allowed is None:
            return 404, _error("ENDPOINT_NOT_FOUND", f"no endpoint {path[:100]}"), []
        if method != allowed:
            message = f"{path} takes {allowed}, not {method[:20]}"
            return 405, _error("BAD_REQUEST", message), [(b"allow", allowed.encode())]
        path = path.rstrip("/")
        if path in ("/ping", "/health"):
            return 200, b"\n", []  # what `mlflow models serve` answers
        if path == "/version":
            return 200, MLFLOW_VERSION.encode(), []  # MLflow's clients compare it to theirs
        if path == "/model":
            return 200, self._status(model), []
        try:
            body = await self._read_body(scope, receive)
        except _BodyTooLarge:
            limit = f"{self.max_body_bytes / 1024 / 1024:g} MB"
            return 413, _error("RESOURCE_LIMIT_EXCEEDED", f"body over the {limit} limit"), []
        content_type = _header(scope, b"content-type")
        try:
            if len(body) > OFFLOAD_BYTES:
                if self._worker is None:
                    self._worker = ThreadPoolExecutor(1, thread_name_prefix="agrolake-scoring")
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(
                    self._worker, _score, model, body, content_type, self.strict
                )
            else:
                answer = _score(model, body, content_type, self.strict)
        except InvalidRequest as exc:
            return exc.status, exc.body(), [(b"content-type", exc.content_type)]
        return 200, answer, []

    def _status(self, model: ServedModel) -> bytes:
        return json.dumps(
            {
                "status": "ok",
                "model": model.info.name,
                "model_version": model.info.version,
                "following": str(self.holder.spec),
                "runtime": model.runtime,
                "strict": self.strict,
                "agrolake": self.server_version,
                "mlflow_protocol": MLFLOW_VERSION,
            }
        ).encode()

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        too_large = (
            declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes
        )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                too_large = True
                chunks.clear()
            elif not too_large:
                chunks.append(chunk)
            if not message.get("more_body", False) or size > _DRAIN_LIMIT:
                break
        if too_large:
            raise _BodyTooLarge
        return b"".join(chunks)


def _score(model: ServedModel, body: bytes, content_type: str | None, strict: bool) -> bytes:
    rows = protocol.parse(body, content_type, model.features, strict=strict)
    return protocol.predictions_body(model.predict(rows))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "message": message}).encode()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class AliasFollower(threading.Thread):
    """Polls the alias; loads a new version in this thread, then swaps it in."""

    def __init__(
        self,
        holder: ModelHolder,
        registry: Registry,
        tracking_uri: str,
        poll_seconds: float,
    ) -> None:
        super().__init__(name="agrolake-serving-follower", daemon=True)
        self.holder = holder
        self.registry = registry
        self.tracking_uri = tracking_uri
        self.poll_seconds = poll_seconds
        self._stopped = threading.Event()
        self._last_problem: str | None = None

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # never let the follower die: the server keeps its model
                log.exception("checking %s failed", self.holder.spec)

    def check(self) -> bool:
        """One poll: True if a new version was loaded and swapped in."""
        spec = self.holder.spec
        current = self.holder.current
        try:
            info = self.registry.resolve(spec)
            if (info.version, info.run_id) == (current.info.version, current.info.run_id):
                self._problem(None)
                return False
            if not info.ready:
                self._problem(f"{spec} → version {info.version} is {info.status}; waiting")
                return False
            model = load(self.registry, info, self.tracking_uri)
        except AgrolakeError as exc:
            self._problem(f"{spec}: {exc.message}; still serving version {current.info.version}")
            return False
        self.holder.current = model
        self._problem(None)
        log.info(
            "%s moved: now serving version %s (%s), was version %s",
            spec,
            model.info.version,
            model.runtime,
            current.info.version,
        )
        return True

    def _problem(self, problem: str | None) -> None:
        """Log a problem once (not every poll), and its end."""
        if problem == self._last_problem:
            return
        if problem is not None:
            log.warning("%s", problem)
        elif self._last_problem is not None:
            log.info("%s: the registry answers again", self.holder.spec)
        self._last_problem = problem

"""What agrolake's HTTP servers share: a token to listen beyond this machine, the check
of that token, and read deadlines.

``agrolake serve``, ``agrolake mlflow-server`` and ``agrolake webhook`` run under uvicorn.

* **Token.** On a loopback address only this machine can connect, so a token is
  optional there; on any other address (``0.0.0.0``, a private address, a name that
  resolves elsewhere) a server refuses to start without one (:func:`require_token`).
  :class:`BearerGate` lets a request through with ``Authorization: Bearer <token>``, or
  HTTP Basic with the token as password (what a browser prompts for: the MLflow UI),
  compared in constant time; health checks stay open.
* **Read deadlines.** uvicorn bounds the wait between two requests (keep-alive, 5 s)
  but not the arrival of one: a client sending a header byte now and then, or a body
  that never ends, holds its connection (and the server's memory) for ever.
  :func:`timed_http_protocol` is uvicorn's h11 protocol with a deadline for the request
  line and headers (:data:`HEADER_SECONDS`, from its first byte) and an idle limit for
  the body (:data:`BODY_IDLE_SECONDS` without a byte; a slow but steady upload goes on).
  Past either, the connection is closed. Headers are limited to 64 KiB.

uvicorn and h11 are imported only by :func:`timed_http_protocol`: the model server
imports this module at start-up and stays lean.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from agrolake.errors import ConfigError

log = logging.getLogger("agrolake.http")

#: The request line and headers must arrive within this many seconds of their first byte.
HEADER_SECONDS = 20.0
#: A request body may pause this long between two reads before its connection is closed.
BODY_IDLE_SECONDS = 30.0
#: The most bytes of request line and headers buffered (h11's default is 16 KiB).
MAX_HEADER_BYTES = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only (every address it names
    is a loopback one). A wildcard (``0.0.0.0``, ``::``, empty) is not."""
    name = host.strip().strip("[]")
    if not name:
        return False
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the server cannot bind it either; the token rule still holds
    addresses = {str(info[4][0]).split("%")[0] for info in found}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def require_token(host: str, token: str | None, *, server: str, setting: str) -> None:
    """Refuse to listen beyond this machine without a token (a :class:`ConfigError`)."""
    if token or is_loopback(host):
        return
    raise ConfigError(
        f"{server} on {host} would answer anyone who reaches this machine: set {setting} "
        "(clients send 'Authorization: Bearer <token>'), or listen on 127.0.0.1"
    )


def token_matches(authorization: bytes | str, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token``: ``Bearer <token>``, or HTTP
    Basic with ``token`` as the password (any user name). Constant time in the token."""
    given = authorization.encode("latin-1") if isinstance(authorization, str) else authorization
    scheme, _, credentials = given.strip().partition(b" ")
    expected = token.encode()
    if scheme.lower() == b"bearer":
        return hmac.compare_digest(credentials.strip(), expected)
    if scheme.lower() == b"basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(decoded.partition(b":")[2], expected)
    return False


class BearerGate:
    """ASGI middleware: a request needs the token (:func:`token_matches`) unless its path
    is one of ``open_paths`` (health checks); otherwise it gets 401 with MLflow's error
    body and challenges for both schemes (a browser then asks for a password)."""

    def __init__(self, app: App, token: str, *, open_paths: Collection[str] = ()) -> None:
        if not token:
            raise ValueError("a gate needs a token")
        self.app = app
        self._token = token
        self._open = frozenset(path.rstrip("/") or "/" for path in open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        body = json.dumps(
            {"error_code": "UNAUTHENTICATED", "message": "missing or wrong bearer token"}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer"),
            (b"www-authenticate", b'Basic realm="agrolake"'),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, scope: Scope) -> bool:
        if (str(scope.get("path", "")).rstrip("/") or "/") in self._open:
            return True
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                return token_matches(bytes(value), self._token)
        return False


def gate(app: App, token: str | None, *, open_paths: Collection[str] = ()) -> App:
    """``app`` behind a :class:`BearerGate` when there is a token, else as it is."""
    return BearerGate(app, token, open_paths=open_paths) if token else app


def uvicorn_limits(
    header_seconds: float = HEADER_SECONDS, body_seconds: float = BODY_IDLE_SECONDS
) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments: the timed protocol and the header limit."""
    return {
        "http": timed_http_protocol(header_seconds, body_seconds),
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": 5,
    }


def timed_http_protocol(
    header_seconds: float = HEADER_SECONDS, body_seconds: float = BODY_IDLE_SECONDS
) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the read deadlines of this module's docstring (one
    class per pair of deadlines)."""
    return _timed_http_protocol(float(header_seconds), float(body_seconds))


@functools.cache
def _timed_http_protocol(header_seconds: float, body_seconds: float) -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for = ""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm("headers")

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._follow()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _follow(self) -> None:
            """Arm the deadline of what the connection waits for from the client now."""
            if self.transport.is_closing():
                self._disarm()
            elif self.conn.their_state is h11.SEND_BODY:
                self._arm("body", restart=True)  # an idle limit: every chunk restarts it
            elif self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
                self._arm("headers")  # a request began: its headers have a deadline
            else:
                # Nothing asked of the client (the app works, or uvicorn's keep-alive
                # timeout watches the wait for the next request).
                self._disarm()

        def _arm(self, what: str, *, restart: bool = False) -> None:
            if self._deadline is not None and self._waiting_for == what and not restart:
                return
            self._disarm()
            self._waiting_for = what
            seconds = header_seconds if what == "headers" else body_seconds
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.flow.read_paused:  # uvicorn stopped reading: the app is slow, not the client
                self._arm(self._waiting_for, restart=True)
                return
            seconds = header_seconds if self._waiting_for == "headers" else body_seconds
            log.warning(
                "closed a connection from %s: its request's %s did not come within %g s",
                f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
                self._waiting_for,
                seconds,
            )
            self.transport.close()

    return TimedH11Protocol

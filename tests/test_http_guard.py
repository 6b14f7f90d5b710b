"""Safe defaults of the HTTP servers (docs/security.md): a token to listen beyond this
machine, the token's check, and read deadlines a slow client cannot outlast."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from agrolake.errors import ConfigError
from agrolake.lake.http_guard import (
    BearerGate,
    gate,
    is_loopback,
    require_token,
    timed_http_protocol,
    token_matches,
    uvicorn_limits,
)
from tests.test_cli import cli

with warnings.catch_warnings():  # Starlette nudges towards httpx2, which we do not use
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "t0ken-for-tests"


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering 200 with the request body's length."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def run(*args: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    code, _, err = cli(capsys, monkeypatch, *args)
    return code, err


# --------------------------------------------------------------------------- tokens


def test_only_loopback_addresses_count_as_this_machine() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.1.2.3", "192.168.1.10", "no-such-host.invalid"):
        assert not is_loopback(host), host


def test_a_token_is_required_beyond_loopback_only() -> None:
    require_token("127.0.0.1", None, server="s", setting="AGROLAKE_X_TOKEN")
    require_token("0.0.0.0", "t", server="s", setting="AGROLAKE_X_TOKEN")
    with pytest.raises(ConfigError, match=r"s on 0\.0\.0\.0 .*set AGROLAKE_X_TOKEN"):
        require_token("0.0.0.0", None, server="s", setting="AGROLAKE_X_TOKEN")


def test_the_token_is_a_bearer_or_a_basic_password() -> None:
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer  {TOKEN} ", TOKEN)
    assert token_matches(f"Basic {basic}", TOKEN)
    for wrong in ("", TOKEN, f"Bearer {TOKEN}x", "Bearer", f"Basic {TOKEN}", f"Token {TOKEN}"):
        assert not token_matches(wrong, TOKEN), wrong
    assert not token_matches("Basic " + base64.b64encode(b"anyone:nope").decode(), TOKEN)


def test_the_gate_lets_the_token_and_health_checks_through() -> None:
    assert gate(echo, None) is echo
    with pytest.raises(ValueError):
        BearerGate(echo, "")
    client = TestClient(gate(echo, TOKEN, open_paths=("/health",)))  # no lifespan: HTTP only
    refused = client.post("/invocations", content=b"abc")
    assert refused.status_code == 401
    assert refused.json() == {
        "error_code": "UNAUTHENTICATED", "message": "missing or wrong bearer token",
    }  # fmt: skip
    assert refused.headers.get_list("www-authenticate") == ["Bearer", 'Basic realm="agrolake"']
    wrong = client.post("/invocations", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/invocations", content=b"abc", headers=auth).text == "3"
    assert client.get("/health").status_code == 200
    assert client.get("/health/").status_code == 200
    assert client.get("/healthz").status_code == 401
    assert client.get("/", auth=("ui", TOKEN)).status_code == 200  # a browser's prompt


def test_servers_refuse_a_public_bind_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Any
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    for command, setting in (
        ("serve", "AGROLAKE_SERVE_TOKEN"),
        ("mlflow-server", "AGROLAKE_MLFLOW_TOKEN"),
        ("webhook", "AGROLAKE_WEBHOOK_TOKEN"),
    ):
        code, err = run(command, "--host", "0.0.0.0", monkeypatch=monkeypatch, capsys=capsys)
        [line] = [x for x in err.splitlines() if x.startswith("error: ")]
        assert code == 1 and setting in line, err
    assert not (tmp_path / "home" / "mlflow.db").exists(), "refused before the migration"

    # With its token, serve gets past the check (and stops at the missing model).
    monkeypatch.setenv("AGROLAKE_SERVE_TOKEN", TOKEN)
    code, err = run("serve", "--host", "0.0.0.0", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "TOKEN" not in err and "wine-quality" in err, err


def test_the_champion_waiting_server_refuses_a_public_bind_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Any
) -> None:
    from agrolake.stack.serve_champion import main as serve_champion

    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    assert serve_champion(["--host", "0.0.0.0", "--port", "1"]) == 1
    assert "AGROLAKE_SERVE_TOKEN" in capsys.readouterr().err


# --------------------------------------------------------------------------- deadlines


@contextlib.contextmanager
def serving(app: Any, header_seconds: float, body_seconds: float) -> Iterator[int]:
    """``app`` under uvicorn with the timed protocol on a free loopback port."""
    import uvicorn

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", **uvicorn_limits(header_seconds, body_seconds)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def response(connection: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body) read from ``connection``."""
    connection.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def closed_after(connection: socket.socket, limit: float) -> float | None:
    """Seconds until the server closed ``connection`` (None: not within ``limit``)."""
    started = time.monotonic()
    connection.settimeout(limit)
    try:
        while connection.recv(65536):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_slow_headers_and_a_stalled_body_lose_their_connection() -> None:
    with serving(echo, header_seconds=0.5, body_seconds=0.5) as port:
        # Headers a byte every 0.1 s (never idle for long): the deadline still holds.
        slow = socket.create_connection(("127.0.0.1", port))
        slow.settimeout(0.1)
        started, closed = time.monotonic(), None
        for byte in b"POST /x HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"y" * 40:
            try:
                slow.send(bytes([byte]))
                if slow.recv(1) == b"":
                    closed = time.monotonic() - started
                    break
            except TimeoutError:
                continue  # the server still waits: next byte
            except OSError:  # reset by the server
                closed = time.monotonic() - started
                break
        assert closed is not None and closed < 1.5, closed

        # An idle connection that never sends a byte is closed too.
        idle = socket.create_connection(("127.0.0.1", port))
        assert (closed_after(idle, 2.0) or 9) < 2.0

        # A body that stops half way.
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"z" * 10)
        assert (closed_after(stalled, 2.0) or 9) < 2.0


def test_a_slow_but_steady_body_and_keep_alive_requests_are_served() -> None:
    with serving(echo, header_seconds=0.5, body_seconds=0.5) as port:
        steady = socket.create_connection(("127.0.0.1", port))
        steady.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n")
        for _ in range(8):  # 8 bytes over 2.4 s: longer than either limit, never idle for one
            time.sleep(0.3)
            steady.sendall(b"z")
        answer = response(steady)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n8")
        # The same connection, a second request after a pause shorter than keep-alive.
        time.sleep(0.8)
        steady.sendall(b"GET /y HTTP/1.1\r\nHost: a\r\n\r\n")
        assert response(steady).startswith(b"HTTP/1.1 200")
        steady.close()


def test_every_server_runs_with_the_read_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook and the tracking server hand uvicorn the timed protocol; the model
    server's is checked with a real model (tests/serving/test_embedded.py)."""
    import uvicorn

    from agrolake.lake.settings import Settings
    from agrolake.ml import tracking_app

    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.append({"app": app, **kwargs}))

    monkeypatch.setenv(tracking_app.TOKEN_VARIABLE, TOKEN)
    tracking_app.main(["--host", "127.0.0.1", "--port", "1", "tests.test_http_guard:echo"])
    assert tracking_app.TOKEN_VARIABLE not in __import__("os").environ, "kept from MLflow"

    import etl.wake

    async def deployment(_: str) -> str:
        return "00000000-0000-0000-0000-000000000000"

    monkeypatch.setattr(etl.wake, "_deployment_id", deployment)
    etl.wake.serve(Settings(webhook_token=TOKEN), "127.0.0.1", 1)

    assert len(seen) == 2
    for kwargs in seen:
        assert kwargs["http"] is timed_http_protocol()
        assert kwargs["h11_max_incomplete_event_size"] == 64 * 1024
    assert isinstance(seen[0]["app"], BearerGate)

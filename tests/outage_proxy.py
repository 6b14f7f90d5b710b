"""A TCP proxy in front of a test server that a test can take down and bring back, on
the same port: to the client, exactly a server that went away and came back."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Any


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        target = self.server.target  # type: ignore[attr-defined]
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError:
            return
        self.server.open.update((self.request, upstream))  # type: ignore[attr-defined]
        with upstream:
            pumps = [
                threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
                threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
            ]
            for pump in pumps:
                pump.start()
            for pump in pumps:
                pump.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for side in (source, sink):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class OutageProxy:
    """Forwards 127.0.0.1:<port> to ``target`` while up."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: _Server | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        server = _Server(("127.0.0.1", self.port), _Pipe)
        server.target = self.target  # type: ignore[attr-defined]
        server.open = set()  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        """Refuse new connections and cut the open ones (pooled keep-alive ones too)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for side in list(self._server.open):  # type: ignore[attr-defined]
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)
            self._server = None

    def __enter__(self) -> OutageProxy:
        return self

    def __exit__(self, *_: Any) -> None:
        self.down()

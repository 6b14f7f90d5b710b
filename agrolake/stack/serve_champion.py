"""The stack's model server: ``agrolake serve`` once the registry has a champion.

A new stack has no model yet, and ``agrolake serve`` stops at once when the alias it
follows does not exist. This waits instead: it answers on the server's port with 503
and ``{"status": "waiting"}`` (so the stack can tell it works) and asks the registry
every few seconds; when the alias exists it hands the port to the real model server,
which then follows the alias as it moves.

Run by the stack: ``python -m agrolake.stack.serve_champion --host H --port P``.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agrolake.errors import AgrolakeError
from agrolake.lake.http_guard import HEADER_SECONDS, require_token
from agrolake.lake.settings import Settings, load_settings
from agrolake.serving import DEFAULT_MODEL, serve
from agrolake.serving.model_registry import ModelSpec, open_registry

log = logging.getLogger("agrolake.stack.serve_champion")
_POLL_SECONDS = 3.0


def champion_ready(settings: Settings, spec: ModelSpec) -> bool:
    """Whether the registry has ``spec`` and its version is ready to load."""
    token = settings.mlflow_token.get_secret_value() if settings.mlflow_token else None
    try:
        return open_registry(settings.tracking_uri, token=token).resolve(spec).ready
    except AgrolakeError:  # no model or alias yet, registry unreachable: not yet
        return False


class _WaitingServer(ThreadingHTTPServer):
    allow_reuse_address = True  # the model server binds the same port right after
    daemon_threads = True


def _waiting_handler(model: str) -> type[BaseHTTPRequestHandler]:
    message = f"waiting for a first {model} in the registry"

    class Waiting(BaseHTTPRequestHandler):
        # A socket timeout: a client that sends its request slowly loses its thread.
        timeout = HEADER_SECONDS

        def _answer(self) -> None:
            body = json.dumps(
                {"status": "waiting", "error_code": "TEMPORARILY_UNAVAILABLE", "message": message}
            ).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Retry-After", "5")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer  # http.server's names

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per probe would flood the log

    return Waiting


def wait_for_champion(settings: Settings, model: str, host: str, port: int) -> None:
    """Answer 503 "waiting" on ``host:port`` until ``model`` can be served."""
    spec = ModelSpec.parse(model)
    if champion_ready(settings, spec):
        return
    _WaitingServer.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    placeholder = _WaitingServer((host, port), _waiting_handler(str(spec)))
    thread = threading.Thread(target=placeholder.serve_forever, daemon=True)
    thread.start()
    log.info("waiting for %s in the registry at %s", spec, settings.tracking_uri)
    try:
        while not champion_ready(settings, spec):
            time.sleep(_POLL_SECONDS)
    finally:
        placeholder.shutdown()
        placeholder.server_close()
        thread.join()
    log.info("%s is in the registry: serving it", spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agrolake.stack.serve_champion")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="serve: %(message)s", stream=sys.stderr)
    try:
        settings = load_settings()
        # Before the placeholder listens: it must not answer where the server may not.
        token = settings.serve_token.get_secret_value() if settings.serve_token else None
        require_token(args.host, token, server="agrolake serve", setting="AGROLAKE_SERVE_TOKEN")
        wait_for_champion(settings, args.model, args.host, args.port)
        serve(settings, model=args.model, host=args.host, port=args.port)
    except AgrolakeError as exc:
        log.error("%s", exc.message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

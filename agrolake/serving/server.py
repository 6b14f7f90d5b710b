"""``serve``'s body: load the model an alias points at, listen, follow the alias."""

from __future__ import annotations

import logging
import os
import socket
import sys

from pydantic import SecretStr

from agrolake.lake.http_guard import gate, require_token, uvicorn_limits
from agrolake.lake.settings import Settings
from agrolake.serving import DEFAULT_MAX_BODY_BYTES, DEFAULT_MODEL
from agrolake.serving.app import AliasFollower, ModelHolder, ScoringApp
from agrolake.serving.exceptions import ServingError
from agrolake.serving.model_registry import ModelSpec, open_registry
from agrolake.serving.runtime import load

log = logging.getLogger("agrolake.serving")
#: What answers without the token: health checks.
OPEN_PATHS = ("/ping", "/health")


def run(
    settings: Settings,
    *,
    model: str = DEFAULT_MODEL,
    host: str = "127.0.0.1",
    port: int = 5001,
    poll_seconds: float = 5.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    strict: bool = False,
) -> None:
    """:func:`agrolake.serving.serve` (documented there)."""
    import uvicorn

    _configure_logging()
    if poll_seconds <= 0:
        raise ServingError(f"poll_seconds must be positive, got {poll_seconds}")
    token = _secret(settings.serve_token)
    require_token(host, token, server="agrolake serve", setting="AGROLAKE_SERVE_TOKEN")
    spec = ModelSpec.parse(model)
    tracking_uri = settings.tracking_uri
    mlflow_token = _secret(settings.mlflow_token)
    if mlflow_token:
        # The pyfunc fallback loads through MLflow's client, which reads this variable.
        os.environ.setdefault("MLFLOW_TRACKING_TOKEN", mlflow_token)
    registry = open_registry(tracking_uri, token=mlflow_token)
    info = registry.resolve(spec)
    if not info.ready:
        raise ServingError(f"{spec} points at version {info.version}, which is {info.status}")
    holder = ModelHolder(load(registry, info, tracking_uri), spec)
    listener = _listen(host, port)
    app = ScoringApp(
        holder, max_body_bytes=max_body_bytes, server_version=_version(), strict=strict
    )
    config = uvicorn.Config(
        # Health checks need no token (load balancers, the stack's probes).
        gate(app, token, open_paths=OPEN_PATHS),
        lifespan="off",
        ws="none",  # no websockets module in memory
        interface="asgi3",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=5,
        **uvicorn_limits(),
    )
    server = uvicorn.Server(config)
    follower = AliasFollower(holder, registry, tracking_uri, poll_seconds)
    if spec.alias is not None:
        follower.start()
    bound_host, bound_port = listener.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log.info(
        "serving %s version %s (%s) on http://%s:%d%s%s",
        spec,
        info.version,
        holder.current.runtime,
        shown,
        bound_port,
        f", following the alias every {poll_seconds:g} s" if spec.alias else "",
        ", strict" if strict else "",
    )
    if token:
        log.info("requests but %s need the token (AGROLAKE_SERVE_TOKEN)", ", ".join(OPEN_PATHS))
    try:
        server.run(sockets=[listener])
    finally:
        follower.stop()
        listener.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound here so that a taken port is one clear error.

    Created with ``proto=IPPROTO_TCP`` (not ``socket.create_server``, whose proto is 0):
    asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP, and without
    it every keep-alive response waits ~40 ms for the client's delayed ACK.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return listener


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agrolake")
    except PackageNotFoundError:
        return "unknown"


def _configure_logging() -> None:
    """One plain line per event on stderr, unless the caller configured logging."""
    logger = logging.getLogger("agrolake.serving")
    if logger.handlers or logging.getLogger().handlers:
        logger.setLevel(logging.INFO)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("agrolake serve: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None

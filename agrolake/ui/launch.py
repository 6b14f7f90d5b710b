"""``agrolake ui``: check that the address is safe to listen on, then serve."""

from __future__ import annotations

import os
from collections.abc import Callable

from agrolake.errors import ConfigError, UsageError
from agrolake.lake import Lake
from agrolake.ui.access import is_loopback


def check_address(lake: Lake, host: str, port: int) -> None:
    """Loopback is open to this machine's users; any other address needs the token."""
    if not 0 < port < 65536:
        raise UsageError(f"--port takes 1 to 65535, not {port}")
    if not is_loopback(host) and lake.settings.ui_token is None:
        raise ConfigError(
            f"listening on {host} would show the lake to the network: set AGROLAKE_UI_TOKEN "
            "(visitors then log in with it), or keep --host 127.0.0.1"
        )


def start_browser(lake: Lake, host: str, port: int, say: Callable[[str], None]) -> None:
    """Serve the lake browser on ``host:port`` until interrupted."""
    from agrolake.ui.webapp import serve

    check_address(lake, host, port)
    # MLflow's client retries an unreachable tracking server for minutes; a page that
    # shows models should say at once that it is down (a 503 page) instead.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    shown = f"[{host}]" if ":" in host else host
    guarded = " (token required)" if lake.settings.ui_token is not None else ""
    say(f"ui: the lake browser on http://{shown}:{port}/{guarded}; Ctrl+C stops it")
    serve(lake, host, port)

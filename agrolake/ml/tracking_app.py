"""The process of ``agrolake mlflow-server``: MLflow's ASGI app under uvicorn, behind the
token when one is set, with read deadlines (:mod:`agrolake.lake.http_guard`).

``python -m agrolake.ml.tracking_app --host H --port P [--log-config FILE] APP``, or the
same arguments after the ``python -c`` prelude that keeps optional packages out
(:func:`agrolake.ml.tracking_server.server_command` builds both). ``APP`` is the
``module:attribute`` of the ASGI app (MLflow's ``mlflow.server.fastapi_app:app``). The
token comes in the environment variable :data:`TOKEN_VARIABLE`, never in argv, and is
removed from the environment before MLflow is imported.

uvicorn's own command line cannot take a protocol class, hence this small one.
"""

from __future__ import annotations

import argparse
import os
import sys

from agrolake.lake.http_guard import gate, uvicorn_limits

#: Where the server finds its token (a process list shows argv, not the environment).
TOKEN_VARIABLE = "_AGROLAKE_MLFLOW_TOKEN"
#: What answers without the token: the health check (the stack's and compose's probes).
OPEN_PATHS = ("/health",)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agrolake.ml.tracking_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--log-config", default=None)
    parser.add_argument("app", help="module:attribute of the ASGI app")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    token = os.environ.pop(TOKEN_VARIABLE, "") or None

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.importer import import_from_string

    app = import_from_string(args.app)
    uvicorn.run(
        gate(app, token, open_paths=OPEN_PATHS),
        host=args.host,
        port=args.port,
        log_config=args.log_config or LOGGING_CONFIG,
        **uvicorn_limits(),
    )


if __name__ == "__main__":
    main()

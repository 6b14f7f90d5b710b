"""``python -m agrolake.serving [--model M] [--host H] [--port P]``: serve with the settings
from the environment (``AGROLAKE_*``, ``.env``). ``agrolake serve`` is the same."""

from __future__ import annotations

import argparse
import sys

from agrolake.errors import AgrolakeError
from agrolake.serving import DEFAULT_MAX_BODY_BYTES, DEFAULT_MODEL, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agrolake.serving",
        description="Serve a registered model with MLflow's scoring protocol (ONNX runtime).",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="name@alias or name/version")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="0 picks a free port")
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20)
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse extra columns and values MLflow would cast (default: AGROLAKE_SERVE_STRICT)",
    )
    args = parser.parse_args(argv)
    from agrolake.lake.settings import load_settings

    try:
        serve(
            load_settings(),
            model=args.model,
            host=args.host,
            port=args.port,
            poll_seconds=args.poll_seconds,
            max_body_bytes=int(args.max_body_mb * 2**20),
            strict=args.strict,
        )
    except AgrolakeError as exc:
        print(f"agrolake serve: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Model serving: MLflow's scoring protocol on the ONNX export, following a registry alias.

``serve(settings)`` serves ``wine-quality@champion`` on http://127.0.0.1:5001 with
onnxruntime, without importing MLflow, pandas or scikit-learn; see docs/serving.md.
Importing this package is cheap: numpy, onnxruntime and uvicorn load inside ``serve``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agrolake.serving.exceptions import (
    ModelNotFound,
    RegistryUnavailable,
    ServingError,
    UnservableModel,
)

if TYPE_CHECKING:
    from agrolake.lake.settings import Settings

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MODEL",
    "MLFLOW_VERSION",
    "ModelNotFound",
    "RegistryUnavailable",
    "ServingError",
    "UnservableModel",
    "serve",
]

DEFAULT_MODEL = "wine-quality@champion"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
#: The MLflow release whose scoring protocol the server speaks, answered on ``/version``
#: as ``mlflow models serve`` answers its own; pyproject.toml pins the same (a test checks).
MLFLOW_VERSION = "3.17.2"


def serve(
    settings: Settings,
    *,
    model: str = DEFAULT_MODEL,
    host: str = "127.0.0.1",
    port: int = 5001,
    poll_seconds: float = 5.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    strict: bool | None = None,
) -> None:
    """Serve ``model`` (``name@alias`` or ``name/version``) on ``host:port`` until stopped.

    Speaks MLflow's scoring protocol (``POST /invocations``; ``GET /ping``, ``/health``,
    ``/version``; ``/model`` says what is served). With an alias, the registry is polled
    every ``poll_seconds``: when the alias moves, the new version is loaded in the
    background and swapped in. Blocks until SIGINT/SIGTERM. ``port=0`` picks a free
    port (the log line says which). ``strict`` (default: the setting ``serve_strict``)
    refuses the extra columns and the values MLflow would drop or cast.

    Raises :class:`ModelNotFound` if the model, alias or version does not exist, and
    :class:`ServingError` if it cannot be loaded or the address cannot be bound (both
    ``AgrolakeError``; ``UsageError`` for a malformed ``model``).
    """
    from agrolake.serving.server import run

    run(
        settings,
        model=model,
        host=host,
        port=port,
        poll_seconds=poll_seconds,
        max_body_bytes=max_body_bytes,
        strict=settings.serve_strict if strict is None else strict,
    )

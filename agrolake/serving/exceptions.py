"""The errors of model serving (all under :class:`agrolake.errors.AgrolakeError`)."""

from __future__ import annotations

from agrolake.errors import AgrolakeError


class ServingError(AgrolakeError):
    """The model server cannot start or cannot load a model."""


class ModelNotFound(ServingError):
    """The registered model, its alias or its version does not exist (or has no artifacts)."""


class RegistryUnavailable(ServingError):
    """The registry could not be read (server down, SQLite file locked): try again later."""

    transient = True


class UnservableModel(ServingError):
    """The model version exists but cannot be served (no ONNX export and no usable signature)."""

"""The one error tree of agrolake.

    AgrolakeError
    ├── ConfigError          settings that cannot work (terminal)
    ├── StorageError         the object store failed
    │   ├── ObjectNotFound       (terminal)
    │   ├── ObjectExists         create-only put found an object (terminal)
    │   ├── StorageRefused       a missing bucket, a key without the right (terminal, stops a run)
    │   └── StorageUnavailable   network, throttling, 5xx (transient)
    ├── CatalogError         the catalog database failed
    │   └── CatalogUnavailable   connection lost, locked (transient)
    ├── FileRejected         a landing file fails its contract (terminal, reported)
    ├── ApiError             a third-party HTTP API refused or answered nonsense (terminal)
    │   ├── ApiUnavailable       timeout, connection lost, 429, 5xx (transient)
    │   └── ApiUnreachable       no network: the name does not resolve (terminal, stops a run)
    ├── RegistryUnavailable  the model registry could not be read (transient)
    └── UsageError           a command was called wrongly (terminal)

Third-party errors are translated once, where they are raised, with
``raise ... from exc``; messages say what was tried and what to do next and never
carry secrets. ``transient`` tells a retry loop whether trying again can help.
A run stops at a transient error (an outage) and at one that says ``stops_run``
(every file would fail alike), instead of charging it to the file in hand.
"""

from __future__ import annotations

from typing import Any


class AgrolakeError(Exception):
    """Base of every error agrolake raises on purpose."""

    transient: bool = False
    stops_run: bool = False

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts


class ConfigError(AgrolakeError):
    """A setting is missing or cannot work."""


class StorageError(AgrolakeError):
    """An object store operation failed."""


class ObjectNotFound(StorageError):
    """The object does not exist (any more)."""


class ObjectExists(StorageError):
    """A create-only write found an object at the key."""


class StorageRefused(StorageError):
    """The store refuses this key the action, or the bucket does not exist: the set-up's
    problem (``agrolake init``, the key's policy), the same for every file."""

    stops_run = True


class StorageUnavailable(StorageError):
    """The store could not be reached or answered with a server error."""

    transient = True


class CatalogError(AgrolakeError):
    """A catalog operation failed."""


class CatalogUnavailable(CatalogError):
    """The catalog database could not be reached or was locked."""

    transient = True


class FileRejected(AgrolakeError):
    """A landing file fails its dataset contract; ``reason`` is one line."""

    def __init__(self, reason: str, *, code: str, **details: Any) -> None:
        super().__init__(reason, code=code, **details)
        self.reason = reason
        self.code = code
        self.details = details


class ApiError(AgrolakeError):
    """A third-party API (Open-Meteo, the NDVI service) failed a request for good."""


class ApiUnavailable(ApiError):
    """The API could not answer now: timeout, connection error, 429 or a 5xx status.

    ``retry_after`` is the wait the server asked for (``Retry-After``), if any.
    """

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.retry_after = retry_after


class ApiUnreachable(ApiError):
    """The API's host name does not resolve or the network is down: no request to it can
    succeed now, so a run stops at the first instead of retrying every one."""


class RegistryUnavailable(AgrolakeError):
    """The model registry (MLflow) could not be read: what depends on knowing every model
    version (the versions maintenance must keep) stops rather than guess."""

    transient = True


class UsageError(AgrolakeError):
    """A command or function was called with arguments that cannot work."""

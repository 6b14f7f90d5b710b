"""Refused requests: the HTTP status, MLflow's ``error_code`` and one line of message."""

from __future__ import annotations

import json

BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
_MESSAGE_LIMIT = 300  # characters of a message; the rest is cut


class InvalidRequest(Exception):
    """A request the server refuses: HTTP ``status``, MLflow's ``error_code``, one line.

    ``error_code=None`` is MLflow's plain-text answer (its 415s): the body is the line.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_code: str | None = INVALID_PARAMETER_VALUE,
    ) -> None:
        message = " ".join(message.split())
        if len(message) > _MESSAGE_LIMIT:
            message = message[: _MESSAGE_LIMIT - 1] + "…"
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    @property
    def content_type(self) -> bytes:
        return b"application/json" if self.error_code else b"text/plain; charset=utf-8"

    def body(self) -> bytes:
        if self.error_code is None:
            return self.message.encode()
        return json.dumps({"error_code": self.error_code, "message": self.message}).encode()


def bad(message: str) -> InvalidRequest:
    """MLflow's ``BAD_REQUEST``: unreadable input, a value that cannot be cast, rows the
    model cannot score."""
    return InvalidRequest(message, error_code=BAD_REQUEST)


def invalid(message: str) -> InvalidRequest:
    """MLflow's ``INVALID_PARAMETER_VALUE``: the table does not fit the model's signature."""
    return InvalidRequest(message, error_code=INVALID_PARAMETER_VALUE)


def unsupported(message: str) -> InvalidRequest:
    """MLflow's 415: a plain-text line, no ``error_code``."""
    return InvalidRequest(message, status=415, error_code=None)

"""One HTTP client for third-party APIs: timeouts, retries with backoff, batches with pauses.

Transient answers (timeouts, lost connections, 429 and 5xx) are retried up to
``AGROLAKE_API_MAX_ATTEMPTS`` times with exponential backoff, honouring a
``Retry-After`` header (up to a minute); anything else fails at once. Every
failure becomes one ``ApiError`` line naming the API, the request and what it
answered, so a flow can report it and go on with the next request. A host name
that does not resolve, or a network that is down, is ``ApiUnreachable``: not worth
a retry, nor the next request (a run stops at once, see ``fetch.fetch_all``).
"""

from __future__ import annotations

import errno
import json
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from agrolake.errors import ApiError, ApiUnavailable, ApiUnreachable
from agrolake.lake.settings import Settings

T = TypeVar("T")
MAX_WAIT_SECONDS = 60.0


class ApiClient:
    """Requests to one API (``name`` appears in every message), used for one run."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        headers: dict[str, str] | None = None,
        credentials_hint: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self._settings = settings
        self._hint = credentials_hint
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.api_timeout_seconds),
            headers={"Accept": "application/json", **(headers or {})},
            follow_redirects=True,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def paced(self, items: Iterable[T]) -> Iterator[T]:
        """``items`` in batches of ``AGROLAKE_API_BATCH_SIZE``, pausing between batches."""
        size, pause = self._settings.api_batch_size, self._settings.api_batch_pause_seconds
        for index, item in enumerate(items):
            if index and index % size == 0 and pause:
                self._sleep(pause)
            yield item

    def get_json(self, url: str, params: dict[str, str], what: str) -> Any:
        """GET ``url`` and parse its JSON answer; ``what`` names the request in errors."""
        return self._request("GET", url, what, params=params)

    def post_json(self, url: str, body: dict[str, Any], what: str) -> Any:
        """POST a JSON ``body`` to ``url`` and parse its JSON answer."""
        return self._request("POST", url, what, json=body)

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        attempts = self._settings.api_max_attempts
        retrying = Retrying(
            retry=retry_if_exception_type(ApiUnavailable),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, **kwargs)
        except ApiUnavailable as exc:
            tried = f"{attempts} attempts" if attempts > 1 else "1 attempt"
            raise ApiUnavailable(f"{what}: {exc.message} ({tried})") from exc
        except ApiUnreachable as exc:
            raise ApiUnreachable(f"{what}: {exc.message}") from exc
        except ApiError as exc:
            raise ApiError(f"{what}: {exc.message}") from exc
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(
                f"{self.name} did not answer within {self._settings.api_timeout_seconds:g} s"
            ) from exc
        except httpx.TransportError as exc:
            if _network_down(exc):
                host = httpx.URL(url).host
                raise ApiUnreachable(
                    f"{self.name} cannot be reached: {host} does not resolve or the network "
                    f"is down ({_first_line(exc)}); check the connection and the API's URL"
                ) from exc
            raise ApiUnavailable(f"{self.name} cannot be reached: {_first_line(exc)}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ApiUnavailable(
                f"{self.name} answered {status} {response.reason_phrase}{_detail(response)}",
                retry_after=_retry_after(response),
            )
        if status in (401, 403):
            hint = f"; check {self._hint}" if self._hint else ""
            raise ApiError(
                f"{self.name} refused the credentials ({status} {response.reason_phrase}){hint}"
            )
        if status >= 400:
            raise ApiError(
                f"{self.name} refused the request: {status} {response.reason_phrase}"
                f"{_detail(response)}"
            )
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(f"{self.name} answered with malformed JSON: {exc}") from exc

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff from ``AGROLAKE_API_BACKOFF_SECONDS``, or what the server asked."""
        backoff = self._settings.api_backoff_seconds * float(2 ** (state.attempt_number - 1))
        failure = state.outcome.exception() if state.outcome else None
        asked = failure.retry_after if isinstance(failure, ApiUnavailable) else None
        return min(max(backoff, asked or 0.0), MAX_WAIT_SECONDS)


def _network_down(exc: BaseException) -> bool:
    """A failed name lookup (no DNS, unknown host) or no route to any network."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        if isinstance(seen, OSError) and seen.errno == errno.ENETUNREACH:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _detail(response: httpx.Response) -> str:
    """The API's own reason, if its error body gives one (Open-Meteo: ``{"reason": …}``)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f": {_first_line(text)[:200]}" if text else ""
    if isinstance(body, dict):
        for field in ("reason", "message", "error", "detail"):
            if isinstance(body.get(field), str) and body[field].strip():
                return f": {_first_line(body[field])[:200]}"
    return ""


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__

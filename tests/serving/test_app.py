"""The ASGI app and the alias follower, in process, with a fake model and registry."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from agrolake.serving import MLFLOW_VERSION
from agrolake.serving.app import AliasFollower, ModelHolder, ScoringApp
from agrolake.serving.exceptions import RegistryUnavailable
from agrolake.serving.model_registry import ModelSpec, VersionInfo
from tests.serving.helpers import FEATURES, SEED_BODY, payloads, wine_rows


@dataclass
class FakeModel:
    info: VersionInfo
    features: tuple[str, ...] = FEATURES
    runtime: str = "fake"
    calls: list[int] = field(default_factory=list)

    def predict(self, rows: NDArray[np.float64]) -> list[Any]:
        self.calls.append(len(rows))
        return [float(self.info.version)] * len(rows)


def info(version: str, status: str = "READY") -> VersionInfo:
    return VersionInfo("wine-quality", version, f"run{version}", "models:/m", status)


SPEC = ModelSpec("wine-quality", alias="champion")


def call(
    app: ScoringApp,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    chunk: int | None = None,
) -> tuple[int, dict[str, str], bytes]:
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts or [b""])
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    start, end = sent
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert int(response_headers["content-length"]) == len(end["body"])
    return start["status"], response_headers, end["body"]


JSON_HEADERS = {"content-type": "application/json"}


def test_invocations_answer_with_predictions_and_the_version() -> None:
    app = ScoringApp(ModelHolder(FakeModel(info("4")), SPEC))

    status, headers, body = call(app, "POST", "/invocations", SEED_BODY, JSON_HEADERS)

    assert (status, json.loads(body)) == (200, {"predictions": [4.0]})
    assert headers["x-model-version"] == "4"
    assert headers["content-type"] == "application/json"


def test_routes() -> None:
    app = ScoringApp(ModelHolder(FakeModel(info("4")), SPEC), server_version="0.1.0")

    assert call(app, "GET", "/ping")[::2] == (200, b"\n")  # as `mlflow models serve`
    assert call(app, "GET", "/health")[::2] == (200, b"\n")
    assert call(app, "GET", "/version")[::2] == (200, MLFLOW_VERSION.encode())
    served = json.loads(call(app, "GET", "/model")[2])
    assert served | {"model_version": "4", "agrolake": "0.1.0", "strict": False} == served
    status, headers, body = call(app, "POST", "/invocations", SEED_BODY, {"content-type": "x/y"})
    assert (status, headers["content-type"]) == (415, "text/plain; charset=utf-8")
    assert body.startswith(b"unsupported Content-Type 'x/y'")
    status, headers, body = call(app, "GET", "/invocations")
    assert (status, headers["allow"]) == (405, "POST")
    status, headers, body = call(app, "POST", "/predict", SEED_BODY, JSON_HEADERS)
    assert status == 404 and json.loads(body)["error_code"] == "ENDPOINT_NOT_FOUND"
    assert headers["x-model-version"] == "4"


def test_body_limit_by_declared_and_by_actual_length() -> None:
    model = FakeModel(info("1"))
    app = ScoringApp(ModelHolder(model, SPEC), max_body_bytes=1000)
    big = payloads(wine_rows(50))["dataframe_split"][1]

    declared = call(
        app, "POST", "/invocations", big, JSON_HEADERS | {"content-length": str(len(big))}
    )
    streamed = call(app, "POST", "/invocations", big, JSON_HEADERS, chunk=100)

    assert declared[0] == streamed[0] == 413
    assert json.loads(streamed[2])["message"] == "body over the 0.000953674 MB limit"
    assert model.calls == []


def test_large_bodies_are_scored_off_the_event_loop() -> None:
    model = FakeModel(info("1"))
    app = ScoringApp(ModelHolder(model, SPEC))
    body = payloads(wine_rows(3000))["dataframe_records"][1]
    assert len(body) > 256 * 1024

    status, _, answer = call(app, "POST", "/invocations", body, JSON_HEADERS, chunk=65536)

    assert status == 200 and len(json.loads(answer)["predictions"]) == 3000


def test_a_bug_is_a_500_and_the_app_goes_on() -> None:
    class Broken(FakeModel):
        def predict(self, rows: NDArray[np.float64]) -> list[Any]:
            raise RuntimeError("boom")

    app = ScoringApp(ModelHolder(Broken(info("1")), SPEC))

    status, _, body = call(app, "POST", "/invocations", SEED_BODY, JSON_HEADERS)

    assert status == 500 and json.loads(body)["error_code"] == "INTERNAL_ERROR"
    assert call(app, "GET", "/ping")[0] == 200


class FakeRegistry:
    location = "fake"

    def __init__(self, version: str) -> None:
        self.answer: VersionInfo | Exception = info(version)

    def resolve(self, spec: ModelSpec) -> VersionInfo:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def read_artifact(self, info: VersionInfo, path: str) -> bytes | None:
        raise AssertionError("not used: load is patched")


@pytest.fixture
def follower(monkeypatch: pytest.MonkeyPatch) -> tuple[AliasFollower, FakeRegistry]:
    monkeypatch.setattr("agrolake.serving.app.load", lambda registry, info, uri: FakeModel(info))
    registry = FakeRegistry("1")
    holder = ModelHolder(FakeModel(info("1")), SPEC)
    return AliasFollower(holder, registry, "sqlite:///x", 5.0), registry


def test_the_follower_swaps_when_the_alias_moves(
    follower: tuple[AliasFollower, FakeRegistry], caplog: pytest.LogCaptureFixture
) -> None:
    watcher, registry = follower
    app = ScoringApp(watcher.holder)
    caplog.set_level(logging.INFO, "agrolake.serving")

    assert watcher.check() is False
    registry.answer = info("2", status="PENDING_REGISTRATION")
    assert watcher.check() is False
    registry.answer = info("2")
    assert watcher.check() is True

    assert watcher.holder.current.info.version == "2"
    assert call(app, "GET", "/ping")[1]["x-model-version"] == "2"
    assert "wine-quality@champion moved: now serving version 2 (fake), was version 1" in caplog.text


def test_the_follower_keeps_the_model_when_the_registry_fails(
    follower: tuple[AliasFollower, FakeRegistry], caplog: pytest.LogCaptureFixture
) -> None:
    watcher, registry = follower
    caplog.set_level(logging.INFO, "agrolake.serving")
    registry.answer = RegistryUnavailable("cannot reach the tracking server")

    for _ in range(3):
        assert watcher.check() is False
    registry.answer = info("1")
    watcher.check()

    assert watcher.holder.current.info.version == "1"
    assert caplog.text.count("cannot reach the tracking server") == 1  # once, not every poll
    assert "the registry answers again" in caplog.text


def test_version_is_the_pinned_mlflow() -> None:
    """``/version`` names the MLflow release whose protocol the parity test checked."""
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert f"mlflow=={MLFLOW_VERSION}" in project["project"]["dependencies"]
    assert version("mlflow") == MLFLOW_VERSION


def test_strict_mode_refuses_extra_columns() -> None:
    body = json.dumps({"dataframe_records": [dict.fromkeys(FEATURES, 1.0) | {"colour": 1}]})
    lenient = ScoringApp(ModelHolder(FakeModel(info("1")), SPEC))
    strict = ScoringApp(ModelHolder(FakeModel(info("1")), SPEC), strict=True)

    assert call(lenient, "POST", "/invocations", body.encode(), JSON_HEADERS)[0] == 200
    status, _, answer = call(strict, "POST", "/invocations", body.encode(), JSON_HEADERS)
    assert (status, json.loads(answer)["error_code"]) == (400, "INVALID_PARAMETER_VALUE")

"""Serving on the embedded profile (SQLite registry, local artifacts), end to end.

The lake and the seed's command (``mlflow models serve -m
models:/wine-quality@champion``) come from ``conftest.py``, shared with the parity
test; here agrolake's server follows the alias. ``mlflow models serve`` starts in the
background with the first test and is needed only by the comparisons near the end.
The alias test moves the champion, so it runs last and moves it back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.serving import MLFLOW_VERSION
from tests.serving.helpers import (
    FEATURES,
    JSON,
    SEED_BODY,
    SEED_ROW,
    Client,
    ServerProcess,
    clean_env,
    payloads,
    relative_difference,
    start_agrolake,
    tree_rss,
    wine_rows,
)

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def agrolake_server(root: Path, mlflow_starting: ServerProcess) -> Iterator[ServerProcess]:
    env = clean_env({"AGROLAKE_HOME": str(root / "home")})
    with start_agrolake(env, root / "agrolake") as server:
        yield server


@pytest.fixture
def client(agrolake_server: ServerProcess) -> Iterator[Client]:
    c = agrolake_server.client()
    yield c
    c.close()


def test_endpoints_and_version_header(client: Client) -> None:
    ping = client.get("/ping")
    health = client.get("/health")
    version = client.get("/version")
    served = client.get("/model")

    assert (ping.status, ping.body) == (200, b"\n")
    assert (health.status, health.body) == (200, b"\n")
    assert version.body == MLFLOW_VERSION.encode()
    assert served.json() | {"status": "ok", "model_version": "1"} == served.json()
    assert served.json()["runtime"] == "onnxruntime"
    assert served.json()["following"] == "wine-quality@champion"
    assert {ping.version, health.version, version.version, served.version} == {"1"}


def test_the_server_stays_lean(agrolake_server: ServerProcess, settings: Settings) -> None:
    """No MLflow, pandas or scikit-learn in the serving process; RSS well under 150 MB."""
    client = agrolake_server.client()
    for _ in range(50):
        client.post(payloads(wine_rows(1000))["dataframe_split"][1])
    assert tree_rss(agrolake_server.pid) < 150 * MIB

    code = (
        "import sys\n"
        "from agrolake.serving.model_registry import ModelSpec, open_registry\n"
        "from agrolake.serving.runtime import load\n"
        f"registry = open_registry({settings.tracking_uri!r})\n"
        "spec = ModelSpec.parse('wine-quality@champion')\n"
        f"model = load(registry, registry.resolve(spec), {settings.tracking_uri!r})\n"
        "heavy = {'mlflow', 'pandas', 'sklearn', 'scipy', 'polars', 'pyarrow'}\n"
        "print(model.runtime, sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=True
    )
    assert done.stdout.split() == ["onnxruntime", "[]"]


def test_with_a_token_only_health_checks_answer_without_it(root: Path) -> None:
    import http.client

    token = "serve-t0ken"
    env = clean_env({"AGROLAKE_HOME": str(root / "home"), "AGROLAKE_SERVE_TOKEN": token})
    with start_agrolake(env, root / "agrolake-token") as server:
        assert "need the token" in server.log()
        host, port = server.url.removeprefix("http://").rstrip("/").split(":")

        def ask(method: str, path: str, headers: dict[str, str]) -> int:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            body = SEED_BODY if method == "POST" else None
            conn.request(method, path, body, {"Content-Type": JSON, **headers})
            status = conn.getresponse().status
            conn.close()
            return status

        assert ask("GET", "/ping", {}) == ask("GET", "/health", {}) == 200
        assert ask("POST", "/invocations", {}) == 401
        assert ask("GET", "/model", {}) == 401
        assert ask("POST", "/invocations", {"Authorization": "Bearer nope"}) == 401
        assert ask("POST", "/invocations", {"Authorization": f"Bearer {token}"}) == 200


def test_the_model_server_runs_with_the_read_deadlines(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn is handed the timed protocol and the gate (tests/test_http_guard.py shows
    what they do); the server does not start here."""
    import uvicorn

    from agrolake.lake.http_guard import BearerGate, timed_http_protocol
    from agrolake.serving import serve

    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.append(self.config))
    token_settings = Settings(home=settings.home, serve_token="t")
    serve(token_settings, host="127.0.0.1", port=0)
    [config] = seen
    assert config.http is timed_http_protocol()
    assert config.h11_max_incomplete_event_size == 64 * 1024
    assert isinstance(config.app, BearerGate)


# --------------------------------------------------------------------------- the registry


def test_the_sqlite_reader_resolves_aliases_and_versions(settings: Settings) -> None:
    from agrolake.serving.exceptions import ModelNotFound
    from agrolake.serving.model_registry import ModelSpec, open_registry

    registry = open_registry(settings.tracking_uri)

    champion = registry.resolve(ModelSpec.parse("models:/wine-quality@champion"))
    assert (champion.version, champion.ready) == ("1", True)
    assert champion.run_id and champion.source and champion.source.startswith("models:/")
    assert registry.resolve(ModelSpec.parse("wine-quality/1")) == champion
    assert registry.resolve(ModelSpec.parse("wine-quality@latest")).version == "1"
    assert registry.read_artifact(champion, "onnx/features.json") is not None
    assert registry.read_artifact(champion, "onnx/nothing.here") is None
    with pytest.raises(ModelNotFound, match="has no alias 'gold'"):
        registry.resolve(ModelSpec.parse("wine-quality@gold"))
    with pytest.raises(ModelNotFound, match="has no version 7"):
        registry.resolve(ModelSpec.parse("wine-quality/7"))
    with pytest.raises(ModelNotFound, match="no registered model 'beer'"):
        registry.resolve(ModelSpec.parse("beer@champion"))


def test_an_unknown_model_is_one_error_line(root: Path) -> None:
    env = clean_env({"AGROLAKE_HOME": str(root / "home")})
    argv = [sys.executable, "-m", "agrolake.serving", "--port", "0", "--model", "beer@champion"]

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"agrolake serve: no registered model 'beer' in the registry at {root / 'home'}/mlflow.db"
    ]


# --------------------------------------------------------------------------- bad requests

_GOOD = dict(zip(FEATURES, SEED_ROW, strict=True))
_BAD = {
    "missing column": (
        JSON,
        {"dataframe_records": [{k: v for k, v in _GOOD.items() if k != "pH"}]},
    ),
    "wrong type": (JSON, {"dataframe_records": [_GOOD | {"pH": "acid"}]}),
    "null": (JSON, {"dataframe_split": {"columns": FEATURES, "data": [[None] * 11]}}),
    "ragged": (JSON, {"dataframe_split": {"columns": FEATURES, "data": [SEED_ROW[:5]]}}),
    "malformed json": (JSON, b'{"dataframe_split": {"columns": ['),
    "not utf-8": (JSON, b'{"inputs": "\xff\xfe"}'),
    "json array": (JSON, [_GOOD]),
    "no format": (JSON, {"data": [SEED_ROW]}),
    "two formats": (JSON, {"inputs": [_GOOD], "instances": [_GOOD]}),
    "plain rows": (JSON, {"instances": [SEED_ROW]}),
    "empty records": (JSON, {"dataframe_records": []}),
    "empty body": (JSON, b""),
    "empty csv": ("text/csv", b""),
    "csv header only": ("text/csv", (",".join(FEATURES) + "\n").encode()),
    "csv text cell": ("text/csv", (",".join(FEATURES) + "\n" + "x," * 10 + "1\n").encode()),
    "csv missing column": ("text/csv", b"pH,alcohol\n3.3,11\n"),
    "nan": (JSON, b'{"dataframe_split": {"columns": ["pH"], "data": [[NaN]]}}'),
    "huge number": (JSON, b'{"inputs": {"pH": [1e999]}}'),
    "deep nesting": (JSON, b"[" * 100_000 + b"]" * 100_000),
    "not parquet": ("application/vnd.apache.parquet", b"PAR1"),
    "wrong content type": ("text/plain", json.dumps({"dataframe_records": [_GOOD]}).encode()),
    "no content type": (None, json.dumps({"dataframe_records": [_GOOD]}).encode()),
    "other charset": ("application/json; charset=latin-1", b"{}"),
    "old protocol": ("application/json; format=pandas-split", b"{}"),
}


@pytest.mark.parametrize("case", list(_BAD))
def test_a_bad_request_is_a_4xx_with_one_line(client: Client, case: str) -> None:
    content_type, body = _BAD[case]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = client.post(data, content_type)

    assert 400 <= response.status < 500, response.body
    assert response.version == "1"
    if response.status == 415:  # MLflow's 415 is one plain-text line
        assert response.headers["content-type"].startswith("text/plain")
        assert response.body and b"\n" not in response.body
        assert "content type" in case or case in ("other charset", "old protocol")
        return
    error = response.json()
    assert set(error) == {"error_code", "message"}
    assert error["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    assert error["message"] and "\n" not in error["message"] and len(error["message"]) <= 300
    assert response.status == 400, error


def test_a_body_over_the_limit_is_413(client: Client) -> None:
    rows = wine_rows(1)[0]
    body = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [rows] * 120_000}})
    assert len(body) > 10 * MIB

    response = client.post(body.encode())

    assert response.status == 413
    assert response.json()["error_code"] == "RESOURCE_LIMIT_EXCEEDED"
    assert client.get("/ping").status == 200


def test_arbitrary_bodies_get_2xx_or_4xx_and_the_server_stays_up(
    agrolake_server: ServerProcess,
) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    from tests.serving.strategies import request_bodies

    client = agrolake_server.client()

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(request_bodies())
    def check(request: tuple[str | None, bytes]) -> None:
        content_type, body = request
        response = client.post(body, content_type)
        assert response.status < 500, (response.status, response.body[:300])
        if response.status == 415:
            assert b"\n" not in response.body
            return
        document = response.json()
        if response.status == 200:
            assert isinstance(document["predictions"], list)
        else:
            assert 400 <= response.status < 500
            assert "\n" not in document["message"]

    check()
    assert agrolake_server.alive()
    assert client.get("/ping").status == 200


# --------------------------------------------------------------------------- fallback


def test_a_version_without_onnx_is_served_through_pyfunc(root: Path, settings: Settings) -> None:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    from agrolake.ml.tracking import client as mlflow_client

    tracking = mlflow_client(settings)
    frame = pd.DataFrame(wine_rows(50, seed=3), columns=list(FEATURES))
    target = np.linspace(3, 8, len(frame))
    model = LinearRegression().fit(frame, target)
    experiment = tracking.get_experiment_by_name("wine-quality")
    assert experiment is not None
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(frame, model.predict(frame)),
            pip_requirements=["scikit-learn"],  # skips MLflow's slow requirement inference
        )
    tracking.create_registered_model("wine-no-onnx")
    tracking.create_model_version(
        "wine-no-onnx", info.model_uri, run.info.run_id, model_id=info.model_id
    )
    env = clean_env({"AGROLAKE_HOME": str(root / "home")})
    rows = wine_rows(20, seed=9)

    with start_agrolake(env, root / "fallback", model="wine-no-onnx/1") as server:
        client = server.client()
        response = client.post(payloads(rows)["dataframe_records"][1])
        runtime = client.get("/model").json()["runtime"]
        bad = client.post(json.dumps({"inputs": {"pH": [1]}}).encode())
        log = server.log()

    assert response.status == 200, response.body
    expected = model.predict(pd.DataFrame(rows, columns=list(FEATURES))).tolist()
    assert relative_difference(expected, response.json()["predictions"]) <= 1e-9
    assert runtime == "mlflow.pyfunc"
    assert bad.status == 400 and "missing columns" in bad.json()["message"]
    assert "no ONNX export; serving it through mlflow.pyfunc" in log


# --------------------------------------------------------------------------- compatibility


def test_the_seed_request_gets_a_prediction_from_both_servers(
    mlflow_server: ServerProcess, agrolake_server: ServerProcess
) -> None:
    theirs = mlflow_server.client().post(SEED_BODY)
    ours = agrolake_server.client().post(SEED_BODY)

    assert theirs.status == 200, theirs.body
    assert ours.status == 200, ours.body
    [expected] = theirs.json()["predictions"]
    assert ours.json() == {"predictions": [pytest.approx(expected, rel=1e-5)]}
    assert 0 < expected < 10
    assert ours.version == "1"


@pytest.mark.parametrize("rows", [1, 1000])
@pytest.mark.parametrize(
    "form", ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"]
)
def test_predictions_match_mlflow_models_serve(
    mlflow_server: ServerProcess, agrolake_server: ServerProcess, form: str, rows: int
) -> None:
    content_type, body = payloads(wine_rows(rows, seed=rows))[form]

    theirs = mlflow_server.client().post(body, content_type)
    ours = agrolake_server.client().post(body, content_type)

    assert theirs.status == ours.status == 200, (theirs.body[:300], ours.body[:300])
    expected, got = theirs.json()["predictions"], ours.json()["predictions"]
    assert len(got) == rows
    assert relative_difference(expected, got) <= 1e-5


# --------------------------------------------------------------------------- alias


def test_the_server_follows_the_champion_under_load(
    agrolake_server: ServerProcess, root: Path, settings: Settings
) -> None:
    """Runs last: moves the champion to a random forest, then back to version 1."""
    from agrolake.ml.tracking import MODEL_NAME
    from agrolake.ml.tracking import client as mlflow_client
    from agrolake.ml.training import train_wine_quality

    stop = threading.Event()
    seen: list[tuple[float, int, str | None]] = []
    failures: list[str] = []
    body = payloads(wine_rows(1))["dataframe_split"][1]

    def load() -> None:
        client = agrolake_server.client()
        while not stop.is_set():
            try:
                response = client.post(body)
            except Exception as exc:
                failures.append(repr(exc))
                continue
            seen.append((time.monotonic(), response.status, response.version))
            if response.status != 200:
                failures.append(f"{response.status} {response.body[:200]!r}")

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    lake = Lake(settings)
    try:
        better = train_wine_quality(lake, estimator="random_forest", params={"n_estimators": 40})
        moved = time.monotonic()
        assert better.decision.promoted, better.decision.reason
        deadline = moved + 10
        while time.monotonic() < deadline and not any(
            v == better.model_version for t, _, v in seen if t >= moved
        ):
            time.sleep(0.05)
        time.sleep(0.5)  # a little load on the new version too
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        lake.close()
        mlflow_client(settings).set_registered_model_alias(MODEL_NAME, "champion", "1")

    switched = [t for t, _, v in seen if v == better.model_version]
    assert not failures, failures[:5]
    assert switched, "the server never answered with the new version"
    assert switched[0] - moved <= 10
    assert {v for _, _, v in seen} == {"1", better.model_version}
    # Once switched, it stays switched (allowing for the other thread's request in flight).
    assert all(v == better.model_version for t, _, v in seen if t > switched[0] + 0.5)
    assert len(seen) > 100

"""``agrolake serve`` answers as ``mlflow models serve`` does, side by side on one model.

Both servers serve wine-quality version 1 of the package's lake (an ElasticNet with a
signature of eleven double columns): MLflow's (``conftest.py``, the seed's command)
and agrolake's, pinned to the version. Every request of ``parity_cases.py`` (MLflow's
own scoring-server tests, ported, and the edges that decide a code) must get the same
status, the same ``error_code`` and, when scored, the same predictions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agrolake.lake.settings import Settings
from tests.serving.helpers import (
    FEATURES,
    Client,
    Response,
    ServerProcess,
    clean_env,
    relative_difference,
    start_agrolake,
    wine_rows,
)
from tests.serving.parity_cases import Case, cases

pytestmark = pytest.mark.slow
CASES = cases()


@pytest.fixture(scope="module")
def ours(root: Path, settings: Settings) -> Iterator[ServerProcess]:
    env = clean_env({"AGROLAKE_HOME": str(settings.home)})
    with start_agrolake(env, root / "parity", model="wine-quality/1") as server:
        yield server


@pytest.fixture(scope="module")
def clients(mlflow_starting: ServerProcess, ours: ServerProcess) -> Iterator[tuple[Client, Client]]:
    pair = (mlflow_starting.wait_ready().client(), ours.client())
    yield pair
    for client in pair:
        client.close()


def _answer(response: Response) -> tuple[int, str | None, Any]:
    """Status, MLflow's ``error_code`` (None for a plain-text answer) and predictions."""
    document: Any = None
    if response.headers.get("content-type", "").startswith("application/json"):
        document = json.loads(response.body)
    if not isinstance(document, dict):
        return response.status, None, None
    return response.status, document.get("error_code"), document.get("predictions")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_same_answer_as_mlflow_models_serve(clients: tuple[Client, Client], case: Case) -> None:
    mlflow, agrolake = clients

    status, code, predictions = _answer(mlflow.post(case.body, case.content_type))
    response = agrolake.post(case.body, case.content_type)
    ours = _answer(response)

    assert ours[:2] == (status, code), response.body[:300]
    if status == 200:
        assert len(ours[2]) == len(predictions)
        assert relative_difference(predictions, ours[2]) <= 1e-9  # a double precision export
    else:
        assert response.body and b"\n" not in response.body  # one line, no stack trace


def test_ping_health_and_version_answer_alike(clients: tuple[Client, Client]) -> None:
    mlflow, agrolake = clients
    for path in ("/ping", "/health", "/version"):
        theirs, ours = mlflow.get(path), agrolake.get(path)
        assert (ours.status, ours.body) == (theirs.status, theirs.body), path
        assert ours.headers["content-type"] == theirs.headers["content-type"], path


def test_where_agrolake_answers_otherwise_on_purpose(clients: tuple[Client, Client]) -> None:
    """Not in MLflow's tests (docs/serving.md lists them): no Content-Type and JSON nested
    past Python's recursion limit, which MLflow does not catch (500), are a 4xx naming
    the problem; media types and charsets compare without case (RFC 9110)."""
    mlflow, agrolake = clients
    body = json.dumps({"dataframe_records": [dict(zip(FEATURES, wine_rows(1)[0], strict=True))]})
    deep = b"[" * 100_000 + b"]" * 100_000

    assert mlflow.post(body.encode(), None).status == 500
    assert agrolake.post(body.encode(), None).status == 415
    assert mlflow.post(deep).status == 500
    assert _answer(agrolake.post(deep))[:2] == (400, "BAD_REQUEST")
    for content_type in ("Application/JSON", 'application/json; charset="utf-8"'):
        assert mlflow.post(body.encode(), content_type).status == 415
        assert agrolake.post(body.encode(), content_type).status == 200


def test_mlflows_client_and_pandas_clients_work_unchanged(
    mlflow_starting: ServerProcess, ours: ServerProcess
) -> None:
    """MLflow's ScoringServerClient (ping, version, invoke) and a pandas user's bodies:
    ``df.to_csv()`` with its index, and ``df.to_parquet()``."""
    import io

    import pandas as pd
    import requests
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient
    from mlflow.version import VERSION

    frame = pd.DataFrame(wine_rows(25, seed=7), columns=list(FEATURES))
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    answers: dict[str, list[list[float]]] = {}
    for server in (mlflow_starting.wait_ready(), ours):
        match = re.fullmatch(r"http://([\d.]+):(\d+)", server.url)
        assert match
        client = ScoringServerClient(host=match.group(1), port=int(match.group(2)))
        client.wait_server_ready(timeout=30)
        assert client.get_version() == VERSION
        invoked = client.invoke(frame).get_predictions().to_numpy()[:, 0].tolist()
        by_csv = requests.post(
            f"{server.url}/invocations", data=frame.to_csv(), headers={"Content-Type": "text/csv"}
        )
        by_parquet = requests.post(
            f"{server.url}/invocations",
            data=parquet.getvalue(),
            headers={"Content-Type": "application/vnd.apache.parquet"},
        )
        assert by_csv.status_code == by_parquet.status_code == 200, server.kind
        csv_answer = by_csv.json()["predictions"]
        answers[server.kind] = [invoked, csv_answer, by_parquet.json()["predictions"]]
    theirs, ours_ = answers["mlflow models serve"], answers["agrolake serve"]
    for expected, got in zip(theirs, ours_, strict=True):
        assert len(got) == 25 and relative_difference(expected, got) <= 1e-9

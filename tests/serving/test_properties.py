"""Property: whatever the body and content type, the parser refuses with a 4xx or returns
a matrix of the model's columns (missing values are NaN: the model refuses them); and
the app answers 2xx or 4xx, never 5xx."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agrolake.serving.app import ModelHolder, ScoringApp
from agrolake.serving.model_registry import ModelSpec
from agrolake.serving.protocol import InvalidRequest, parse
from tests.serving.helpers import FEATURES
from tests.serving.test_app import FakeModel, call, info

hypothesis = pytest.importorskip("hypothesis")
from tests.serving.strategies import request_bodies  # noqa: E402


@hypothesis.settings(max_examples=500, deadline=None, database=None)
@hypothesis.given(request_bodies())
def test_the_parser_refuses_cleanly_or_returns_a_matrix(
    request: tuple[str | None, bytes],
) -> None:
    content_type, body = request
    try:
        matrix = parse(body, content_type, FEATURES)
    except InvalidRequest as exc:
        assert 400 <= exc.status < 500
        assert exc.message and "\n" not in exc.message
        return
    assert matrix.dtype == np.float64 and matrix.ndim == 2 and matrix.shape[1] == 11
    assert matrix.shape[0] > 0


@hypothesis.settings(max_examples=200, deadline=None, database=None)
@hypothesis.given(request_bodies())
def test_the_app_answers_2xx_or_4xx(request: tuple[str | None, bytes]) -> None:
    content_type, body = request
    app = ScoringApp(ModelHolder(FakeModel(info("1")), ModelSpec("m", alias="a")))
    headers = {} if content_type is None else {"content-type": content_type}

    status, answered, answer = call(app, "POST", "/invocations", body, headers)

    assert status in (200, 400, 413, 415)
    if answered["content-type"].startswith("text/plain"):  # MLflow's 415: one line of text
        assert status == 415 and b"\n" not in answer
        return
    document = json.loads(answer)
    assert "predictions" in document if status == 200 else "\n" not in document["message"]

"""The scoring protocol's parser: every format to the same matrix, every mistake a 4xx."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from agrolake.errors import UsageError
from agrolake.serving.model_registry import ModelSpec, open_registry
from agrolake.serving.protocol import InvalidRequest, media_type, parse, predictions_body
from tests.serving.helpers import FEATURES, SEED_BODY, SEED_ROW, payloads, wine_rows

JSON = "application/json"


@pytest.mark.parametrize(
    "form", ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"]
)
def test_every_format_gives_the_same_matrix(form: str) -> None:
    rows = wine_rows(7)
    content_type, body = payloads(rows)[form]

    matrix = parse(body, content_type, FEATURES)

    assert matrix.dtype == np.float64 and matrix.shape == (7, 11)
    assert np.array_equal(matrix, np.array(rows))


def test_the_seed_body_parses() -> None:
    assert parse(SEED_BODY, JSON, FEATURES).tolist() == [SEED_ROW]


def test_columns_come_in_any_order() -> None:
    order = list(reversed(FEATURES))
    body = json.dumps({"dataframe_split": {"columns": order, "data": [SEED_ROW[::-1]]}})
    records = json.dumps({"dataframe_records": [dict(zip(order, SEED_ROW[::-1], strict=True))]})

    assert parse(body.encode(), JSON, FEATURES).tolist() == [SEED_ROW]
    assert parse(records.encode(), JSON, FEATURES).tolist() == [SEED_ROW]


def test_accepted_variants() -> None:
    one = dict(zip(FEATURES, SEED_ROW, strict=True))
    variants: list[tuple[str, Any]] = [
        ("application/json; charset=UTF-8", {"inputs": one}),  # one row as scalars
        (JSON, {"instances": {k: [v] for k, v in one.items()}}),  # columns
        (JSON, {"inputs": [one]}),  # records
        (JSON, {"dataframe_split": {"index": [4], "columns": FEATURES, "data": [SEED_ROW]}}),
        (JSON, {"dataframe_records": [one], "params": {"x": 1}}),  # params ignored
        (
            "TEXT/CSV",
            ("\ufeff" + ",".join(FEATURES) + "\r\n" + ",".join(map(str, SEED_ROW)) + "\r\n\r\n"),
        ),
    ]
    for content_type, document in variants:
        body = (document if isinstance(document, str) else json.dumps(document)).encode()
        assert parse(body, content_type, FEATURES).tolist() == [SEED_ROW], content_type


def _error(body: Any, content_type: str | None = JSON) -> InvalidRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidRequest) as caught:
        parse(data, content_type, FEATURES)
    error = caught.value
    assert "\n" not in error.message
    assert json.loads(error.body()) == {"error_code": error.error_code, "message": error.message}
    return error


def test_missing_and_extra_columns_are_named() -> None:
    one = dict(zip(FEATURES, SEED_ROW, strict=True))
    del one["pH"]
    one["colour"] = 2

    error = _error({"dataframe_records": [one]})

    assert error.status == 400 and error.error_code == "INVALID_PARAMETER_VALUE"
    assert "missing columns: 'pH'" in error.message
    assert "unexpected columns: 'colour'" in error.message


def test_type_errors_name_the_row_and_column() -> None:
    row: list[Any] = list(SEED_ROW)
    row[8] = "3.3"
    error = _error({"dataframe_split": {"columns": FEATURES, "data": [SEED_ROW, row]}})
    assert error.message == "row 1, column 'pH': expected a number, got a JSON string"
    row[8] = None
    error = _error({"dataframe_split": {"columns": FEATURES, "data": [row]}})
    assert error.message == "row 0, column 'pH': missing value (null)"


def test_malformed_and_unsupported_bodies() -> None:
    assert _error(b"{").error_code == "MALFORMED_REQUEST"
    assert _error(b"[" * 50_000).error_code == "MALFORMED_REQUEST"
    assert _error(b"\xff\xfe\x00").error_code == "MALFORMED_REQUEST"
    assert _error(b"a,b\n\x00,1\n", "text/csv").status == 400
    assert _error(b"{}", None).status == 415
    assert _error(b"{}", "application/xml").status == 415
    assert _error(b"{}", "application/json; charset=utf-16").status == 415
    assert _error(b"   ").message.startswith("empty body")
    huge = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [[0] * 11]}})
    huge = huge.replace("[0, ", "[" + "9" * 400 + ", ", 1)
    assert _error(huge.encode()).status == 400  # too large for a float
    assert "out of range" in _error(huge.replace("9" * 400, "1e300").encode()).message


def test_messages_are_short() -> None:
    error = _error({"dataframe_records": [{f"col{i}" * 20: 1 for i in range(50)}]})
    assert len(error.message) <= 300


def test_media_type() -> None:
    assert media_type("application/json") == JSON
    assert media_type(' text/csv ; charset="utf-8"') == "text/csv"


def test_predictions_body_is_mlflows_shape() -> None:
    assert json.loads(predictions_body([1.5, 2.0, 5.097043037414551])) == {
        "predictions": [1.5, 2.0, 5.097043037414551]
    }


def test_without_orjson_the_json_module_gives_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agrolake.serving import protocol

    bodies = [SEED_BODY, b"\xef\xbb\xbf" + SEED_BODY, b"{", b'{"inputs": NaN}', b"[" * 5000]
    with_orjson = [_outcome(body) for body in bodies]
    monkeypatch.setattr(protocol, "orjson", None)
    assert [_outcome(body) for body in bodies] == with_orjson
    assert json.loads(predictions_body([1.5])) == {"predictions": [1.5]}


def _outcome(body: bytes) -> Any:
    try:
        return parse(body, JSON, FEATURES).tolist()
    except InvalidRequest as exc:
        return (exc.status, exc.error_code)


def test_model_specs() -> None:
    assert ModelSpec.parse("wine-quality@champion") == ModelSpec("wine-quality", alias="champion")
    assert ModelSpec.parse("models:/wine-quality/03") == ModelSpec("wine-quality", version="3")
    assert str(ModelSpec.parse("m/2")) == "m/2"
    for bad in ("wine-quality", "wine-quality@", "@champion", "a/b/c", "a/x", "a@b@c"):
        with pytest.raises(UsageError):
            ModelSpec.parse(bad)


def test_registry_choice() -> None:
    from agrolake.serving.exceptions import ModelNotFound, ServingError
    from agrolake.serving.model_registry import RestRegistry, SqliteRegistry

    assert isinstance(open_registry("http://127.0.0.1:5000"), RestRegistry)
    assert isinstance(open_registry("sqlite:////tmp/nowhere/mlflow.db"), SqliteRegistry)
    with pytest.raises(ServingError, match="tracking server"):
        open_registry("postgresql://db/mlflow")
    with pytest.raises(ModelNotFound, match="train a model first"):
        open_registry("sqlite:////tmp/nowhere/mlflow.db").resolve(ModelSpec("m", alias="a"))

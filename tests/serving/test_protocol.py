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


def _error(body: Any, content_type: str | None = JSON, *, strict: bool = False) -> InvalidRequest:
    if isinstance(body, str):
        body = body.encode()
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidRequest) as caught:
        parse(data, content_type, FEATURES, strict=strict)
    error = caught.value
    assert "\n" not in error.message
    if error.error_code is None:  # MLflow's 415: one plain-text line
        assert error.body() == error.message.encode()
    else:
        expected = {"error_code": error.error_code, "message": error.message}
        assert json.loads(error.body()) == expected
    return error


def _one(**changes: Any) -> dict[str, Any]:
    return dict(zip(FEATURES, SEED_ROW, strict=True)) | changes


def test_values_are_cast_and_extra_columns_dropped_as_mlflow_does() -> None:
    """MLflow's signature enforcement casts to the double columns and drops the others."""
    body = {"dataframe_records": [_one(pH="3.3", alcohol=True, colour="red", sulphates=" 75 ")]}

    [row] = parse(json.dumps(body).encode(), JSON, FEATURES).tolist()

    assert row == [*SEED_ROW[:8], 3.3, 75.0, 1.0]


def test_null_is_a_missing_value_for_the_model_to_refuse() -> None:
    body = {"dataframe_split": {"columns": FEATURES, "data": [[None, *SEED_ROW[1:]]]}}
    matrix = parse(json.dumps(body).encode(), JSON, FEATURES)
    assert np.isnan(matrix[0, 0]) and matrix[0, 1:].tolist() == SEED_ROW[1:]


def test_strict_mode_refuses_what_mlflow_would_drop_or_cast() -> None:
    extra = _error({"dataframe_records": [_one(colour=2)]}, strict=True)
    text = _error({"inputs": _one(pH="3.3")}, strict=True)
    boolean = _error(",".join(FEATURES) + "\n" + "1," * 10 + "True\n", "text/csv", strict=True)

    assert extra.error_code == "INVALID_PARAMETER_VALUE"
    assert "unexpected columns: 'colour'" in extra.message
    assert (text.error_code, text.message) == (
        "INVALID_PARAMETER_VALUE",
        "row 0, column 'pH': '3.3' is not a JSON number (strict mode)",
    )
    assert (boolean.error_code, boolean.message) == (
        "INVALID_PARAMETER_VALUE",
        "row 0, column 'alcohol': 'True' is not a number (strict mode)",
    )
    assert parse(SEED_BODY, JSON, FEATURES, strict=True).tolist() == [SEED_ROW]


def test_errors_have_mlflows_codes_and_name_the_problem() -> None:
    missing = _error({"dataframe_records": [{k: v for k, v in _one().items() if k != "pH"}]})
    row: list[Any] = [*SEED_ROW[:8], "acid", *SEED_ROW[9:]]
    acid = _error({"dataframe_split": {"columns": FEATURES, "data": [SEED_ROW, row]}})
    unnamed = _error({"instances": [SEED_ROW]})
    repeated = _error({"dataframe_split": {"columns": [*FEATURES, "pH"], "data": [[*SEED_ROW, 1]]}})

    assert missing.error_code == "INVALID_PARAMETER_VALUE"
    assert "missing columns: 'pH'" in missing.message
    assert acid.error_code == "BAD_REQUEST"
    assert (
        acid.message.startswith("dataframe_split row 1") or "'acid' is not a number" in acid.message
    )
    assert unnamed.error_code == "INVALID_PARAMETER_VALUE"
    assert "do not name their columns" in unnamed.message
    assert repeated.error_code == "INVALID_PARAMETER_VALUE"
    assert "repeated columns: 'pH'" in repeated.message


def test_malformed_and_unsupported_bodies() -> None:
    assert _error(b"{").error_code == "BAD_REQUEST"
    assert _error(b"[" * 50_000).error_code == "BAD_REQUEST"
    assert _error(b"\xff\xfe\x00").error_code == "BAD_REQUEST"
    assert _error(b"a,b\n\x00,1\n", "text/csv").status == 400
    assert _error(b"not parquet", "application/vnd.apache.parquet").error_code == "BAD_REQUEST"
    for content_type in (None, "application/xml", "application/json; charset=utf-16"):
        error = _error(b"{}", content_type)
        assert (error.status, error.error_code) == (415, None)
    assert _error(b"   ").message.startswith("empty body")
    huge = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [[0] * 11]}})
    huge = huge.replace("[0, ", "[" + "9" * 400 + ", ", 1)
    assert _error(huge.encode()).error_code == "BAD_REQUEST"  # beyond a double


def test_messages_are_short() -> None:
    error = _error({"dataframe_records": [{f"col{i}" * 20: 1 for i in range(50)}]})
    assert len(error.message) <= 300


def test_pandas_default_csv_with_its_index_column() -> None:
    """``df.to_csv()`` writes the index first, under an empty name: dropped, as by MLflow."""
    header = "," + ",".join(FEATURES)
    rows = "\n".join(f"{i}," + ",".join(map(str, SEED_ROW)) for i in range(3))
    implicit = ",".join(FEATURES) + "\n7," + ",".join(map(str, SEED_ROW))  # a longer first row

    assert parse(f"{header}\n{rows}\n".encode(), "text/csv", FEATURES).tolist() == [SEED_ROW] * 3
    assert parse(implicit.encode(), "text/csv", FEATURES).tolist() == [SEED_ROW]


def test_csv_cells_as_pandas_reads_them() -> None:
    header = ",".join(FEATURES) + "\n"
    as_numbers = parse((header + ",".join(["TRUE", " 2 ", "1e1", "-.5", *"1111111"])).encode(),
                       "text/csv", FEATURES)  # fmt: skip
    missing = parse((header + "NA," + "1," * 9 + "1").encode(), "text/csv", FEATURES)

    assert as_numbers.tolist()[0][:4] == [1.0, 2.0, 10.0, -0.5]
    assert np.isnan(missing[0, 0])
    assert _error(header + "1_0," + "1," * 9 + "1", "text/csv").error_code == "BAD_REQUEST"


def test_parquet_columns_typed_as_mlflow_takes_them() -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    def body(**columns: Any) -> bytes:
        data = {f: pa.array([v, v], pa.float64()) for f, v in zip(FEATURES, SEED_ROW, strict=True)}
        data |= columns
        out = io.BytesIO()
        pq.write_table(pa.table(data), out)
        return out.getvalue()

    parquet = "application/vnd.apache.parquet"
    small = parse(body(pH=pa.array([3, 3], pa.int32()), colour=pa.array(["r", "w"])), parquet,
                  FEATURES)  # fmt: skip

    assert small.tolist() == [[*SEED_ROW[:8], 3.0, *SEED_ROW[9:]]] * 2
    for refused in (pa.array([3, 4], pa.int64()), pa.array(["3.3", "3.3"]), pa.array([True] * 2)):
        assert _error(body(pH=refused), parquet).error_code == "INVALID_PARAMETER_VALUE"


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
    from agrolake.serving import json_bodies

    bodies = [SEED_BODY, b"\xef\xbb\xbf" + SEED_BODY, b"{", b'{"inputs": NaN}', b"[" * 5000]
    bodies += [SEED_BODY.replace(b"12.8", b"1" * 30), SEED_BODY.replace(b"12.8", b"NaN")]
    with_orjson = [_outcome(body) for body in bodies]
    monkeypatch.setattr(json_bodies, "orjson", None)
    assert [_outcome(body) for body in bodies] == with_orjson
    assert json.loads(predictions_body([1.5])) == {"predictions": [1.5]}


def _outcome(body: bytes) -> Any:
    try:
        return str(parse(body, JSON, FEATURES).tolist())  # str: NaN == NaN
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

"""Requests that ``mlflow models serve`` and ``agrolake serve`` must answer alike.

Most come from MLflow's own scoring-server tests (``tests/pyfunc/test_scoring_server.py``
in MLflow's repository), ported to the wine model: the upstream test of each is named in
the comment above it. Where the upstream request was built for another model (iris
features, keras inputs ``a`` and ``b``), it is sent as it is *and* with the wine columns.
The rest are the cases issue 16 listed and the edges of casting, CSV and Parquet that
decide a status or an error code. Bodies are built here; nothing is copied from MLflow.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tests.serving.helpers import FEATURES, wine_rows

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
F = list(FEATURES)


@dataclass(frozen=True)
class Case:
    name: str
    content_type: str
    body: bytes


def _body(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def _parquet(frame: pd.DataFrame, index: bool | None = None) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=index)
    return out.getvalue()


HOLE = "<literal>"


def literal(document: Any, text: str) -> str:
    """``document`` as JSON with ``text`` (NaN, a 400-digit integer) where ``HOLE`` is."""
    return json.dumps(document).replace(json.dumps(HOLE), text)


def _csv_line(values: list[Any]) -> str:
    return ",".join(map(str, values))


def cases() -> list[Case]:
    rows = wine_rows(3, seed=16)
    row = rows[0]
    frame = pd.DataFrame(rows, columns=F)
    one = dict(zip(F, row, strict=True))
    without_ph = {k: v for k, v in one.items() if k != "pH"}
    shuffled = frame[F[::-1]]
    split = {"dataframe_split": frame.to_dict(orient="split")}
    header = _csv_line(F) + "\n"
    table: list[tuple[str, str, Any]] = []

    def add(name: str, content_type: str, body: Any) -> None:
        table.append((name, content_type, body))

    def with_ph(value: Any) -> list[Any]:
        return [*row[:8], value, *row[9:]]

    # test_scoring_server_responds_to_malformed_json_input_with_error_code_and_message
    add("malformed json", JSON, "this is,,,, not valid json")
    # test_scoring_server_responds_to_invalid_json_format_with_error_code_and_message
    for value in (1, "1", [1]):
        add(f"json {json.dumps(value)}", JSON, value)
    add("no format key", JSON, {"not": "a serialized dataframe"})
    add("two format keys", JSON, {"dataframe_records": [], "dataframe_split": {"data": []}})
    # test_scoring_server_responds_to_invalid_pandas_input_format_with_stacktrace_and_error_code
    add("records given split", JSON, {"dataframe_records": frame.to_dict(orient="split")})
    add("split given records", JSON, {"dataframe_split": frame.to_dict(orient="records")})
    # test_scoring_server_responds_to_invalid_dataframe_with_stacktrace_and_error_code
    add("split index length", JSON, {"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}})
    # test_scoring_server_responds_to_incompatible_inference_dataframe_with_stacktrace_and_error_code  # noqa: E501
    numbers = pd.DataFrame(np.array(range(10)))
    add("incompatible frame", JSON, {"dataframe_split": numbers.to_dict(orient="split")})
    add("incompatible frame, bare split", JSON, numbers.to_json(orient="split"))  # older helper
    # test_scoring_server_responds_to_invalid_csv_input_with_stacktrace_and_error_code
    add("empty csv", CSV, "")
    # test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_records_orientation
    records = {"dataframe_records": frame.to_dict(orient="records")}
    add("records", JSON, records)
    add("records, charset", JSON + "; charset=UTF-8", records)
    # test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_split_orientation
    add("split", JSON, split)
    add("split, charset", JSON + "; charset=UTF-8", split)
    # test_scoring_server_responds_to_invalid_content_type_request_with_unsupported_content_type_code  # noqa: E501
    add("unsupported content type", "not_a_supported_content_type", frame.to_json(orient="split"))
    # test_scoring_server_responds_to_invalid_content_type_request_with_unrecognized_content_param
    add("unknown content type parameter", JSON + "; something=something", split)
    # test_scoring_server_successfully_evaluates_correct_tf_serving_sklearn
    add("instances as plain rows", JSON, {"instances": frame.to_numpy().tolist()})
    # test_scoring_server_successfully_evaluates_correct_tf_serving_keras_instances
    tensors = [{"a": r[:2], "b": r[-2:]} for r in rows]
    add("instances of tensors", JSON, {"instances": tensors})
    add(
        "instances of tensors, wine columns",
        JSON,
        {"instances": [{f: [v, v] for f, v in one.items()}]},
    )
    records = [dict(zip(F, r, strict=True)) for r in rows[:2]]
    add("instances with an empty record", JSON, {"instances": [*records, {}]})
    add("instances with an empty record first", JSON, {"instances": [{}, *records]})
    # test_scoring_server_successfully_evaluates_correct_tf_serving_keras_inputs
    add(
        "inputs of tensors",
        JSON,
        {"inputs": {"a": [r[:2] for r in rows], "b": [r[-2:] for r in rows]}},
    )
    add("inputs of tensors, wine columns", JSON, {"inputs": {f: [[v, v]] for f, v in one.items()}})
    # test_records_oriented_json_to_df and test_split_oriented_json_to_df (their bodies)
    zips = [{"zip": "95120", "cost": 10.45, "score": 8}, {"zip": "95128", "cost": 23.0, "score": 0}]
    add("zip records", JSON, {"dataframe_records": zips})
    add("zip split", JSON, {"dataframe_split": {"columns": ["zip", "cost", "count"], "index": [0],
                                                "data": [["95120", 10.45, -8]]}})  # fmt: skip
    # ... and their point, numbers as strings, in the wine columns: cast by the signature
    add(
        "numeric strings, records",
        JSON,
        {"dataframe_records": [{k: str(v) for k, v in one.items()}]},
    )
    add(
        "numeric strings, split",
        JSON,
        {"dataframe_split": {"columns": F, "data": [list(map(str, row))]}},
    )
    # test_parse_with_schema_csv: shuffled columns, to_csv(index=False)
    add("csv, shuffled columns", CSV, shuffled.to_csv(index=False))
    # test_parse_with_schema: shuffled split and records; its "bad_df" values in double columns
    add("split, shuffled columns", JSON, {"dataframe_split": shuffled.to_dict(orient="split")})
    add(
        "records, shuffled columns", JSON, {"dataframe_records": shuffled.to_dict(orient="records")}
    )
    big = [9007199254740991.0, 9007199254740992.0, 9007199254740994.0]
    add(
        "integers beyond 2^53",
        JSON,
        {"dataframe_split": {"columns": F, "data": [with_ph(v) for v in big]}},
    )
    add(
        "arbitrary string",
        JSON,
        {"dataframe_split": {"columns": F, "data": [with_ph("some arbitrary string")]}},
    )
    add("1.5 and 0", JSON, {"dataframe_split": {"columns": F, "data": [with_ph(1.5), with_ph(0)]}})
    # test_serving_model_with_schema: split, records and inputs as an object of lists
    add("inputs of columns", JSON, {"inputs": frame.to_dict(orient="list")})
    # test_serving_model_with_param_schema: params of a model without parameters are ignored
    add(
        "params, bad value",
        JSON + "; charset=UTF-8",
        split | {"params": {"param1": "invalid_value1"}},
    )
    add("params, unknown", JSON + "; charset=UTF-8", split | {"params": {"invalid_param": "value"}})
    # test_parse_json_input_including_path
    urls = pd.DataFrame(
        {
            "url": ["http://foo.com", "https://bar.com"],
            "bad_protocol": ["aaa://bbb", "address:/path"],
        }
    )
    add("url strings", JSON, {"dataframe_split": urls.to_dict(orient="split")})
    # test_scoring_server_allows_payloads_with_llm_{chat,completions,embeddings}_keys_for_pyfunc,
    # test_scoring_server_allows_payloads_with_messages_for_pyfunc_wrapped
    add(
        "llm chat",
        JSON,
        {"messages": [{"role": "user", "content": "hello!"}], "temperature": 0.5, "max_tokens": 20},
    )
    add("llm completions", JSON, {"prompt": "hello!", "temperature": 0.5, "max_tokens": 20})
    add("llm embeddings", JSON, {"input": "hello!", "random": "test"})
    add(
        "llm wrapped",
        JSON,
        {"messages": [{"role": "user", "content": "[2,2,2,2]"}], "max_tokens": 20},
    )

    # Issue 16: what clients of MLflow send that agrolake refused or coded differently.
    add("pandas default csv (index column)", CSV, frame.to_csv())
    add("csv, named index", CSV, frame.rename_axis("id").to_csv())
    add("extra column", JSON, {"dataframe_records": [one | {"colour": "red"}]})
    add("string 3.3", JSON, {"dataframe_records": [one | {"pH": "3.3"}]})
    add("true", JSON, {"dataframe_records": [one | {"pH": True}]})
    add("1e39", JSON, {"dataframe_records": [one | {"pH": 1e39}]})
    add(
        "NaN literal",
        JSON,
        literal({"dataframe_split": {"columns": F, "data": [with_ph(HOLE)]}}, "NaN"),
    )
    add(
        "Infinity literal",
        JSON,
        literal({"dataframe_split": {"columns": F, "data": [with_ph(HOLE)]}}, "Infinity"),
    )
    add(
        "NaN literal, one column", JSON, '{"dataframe_split": {"columns": ["pH"], "data": [[NaN]]}}'
    )
    add("not utf-8", JSON, b'{"inputs": "\xff\xfe"}')
    add("empty body", JSON, b"")
    add("null", JSON, {"dataframe_split": {"columns": F, "data": [with_ph(None)]}})
    add("wrong type", JSON, {"dataframe_records": [one | {"pH": "acid"}]})
    add("empty records", JSON, {"dataframe_records": []})
    add("empty split data", JSON, {"dataframe_split": {"columns": F, "data": []}})
    add("ragged split", JSON, {"dataframe_split": {"columns": F, "data": [row[:5]]}})
    add("split without columns", JSON, {"dataframe_split": {"data": [row]}})
    add("missing column", JSON, {"dataframe_records": [without_ph]})
    add("parquet", PARQUET, _parquet(frame))
    add("parquet, extra column", PARQUET, _parquet(frame.assign(colour="red")))
    add("parquet, missing column", PARQUET, _parquet(frame.drop(columns=["pH"])))
    add("parquet, int64 column", PARQUET, _parquet(frame.assign(pH=3)))
    add("parquet, string column", PARQUET, _parquet(frame.assign(pH="3.3")))

    # Edges: JSON shapes and casts.
    add(
        "split, repeated column",
        JSON,
        {"dataframe_split": {"columns": [*F, "pH"], "data": [[*row, 3.3]]}},
    )
    add("split, rows of scalars", JSON, {"dataframe_split": {"columns": F, "data": [1, 2]}})
    add("split, data a number", JSON, {"dataframe_split": {"columns": F, "data": 5}})
    add("split, columns a string", JSON, {"dataframe_split": {"columns": "abc", "data": [row]}})
    add(
        "split, numbered columns",
        JSON,
        {"dataframe_split": {"columns": list(range(11)), "data": [row]}},
    )
    add("split, row too long", JSON, {"dataframe_split": {"columns": F, "data": [[*row, 1]]}})
    add("split, missing data", JSON, {"dataframe_split": {"columns": F}})
    add("split, extra key", JSON, {"dataframe_split": {"columns": F, "data": [row], "x": 1}})
    add("split, index", JSON, {"dataframe_split": {"columns": F, "index": [5], "data": [row]}})
    for text in (" 3.3 ", "1_0", "nan", "inf", ""):
        add(
            f"split, string {text!r}",
            JSON,
            {"dataframe_split": {"columns": F, "data": [with_ph(text)]}},
        )
    add("split, false", JSON, {"dataframe_split": {"columns": F, "data": [with_ph(False)]}})
    add(
        "split, bad value and missing column",
        JSON,
        {"dataframe_split": {"columns": F[:10], "data": [[*row[:9], "acid"]]}},
    )
    add("records, a key missing in one", JSON, {"dataframe_records": [one, without_ph]})
    add("records of lists", JSON, {"dataframe_records": [row]})
    add("records of scalars", JSON, {"dataframe_records": [1, 2]})
    add("records, mixed", JSON, {"dataframe_records": [one, 1]})
    add("records, a string", JSON, {"dataframe_records": "abc"})
    add("records, array value", JSON, {"dataframe_records": [one | {"pH": [1, 2]}]})
    add("records, object value", JSON, {"dataframe_records": [one | {"pH": {"a": 1}}]})
    add(
        "records, integer beyond a double",
        JSON,
        literal({"dataframe_records": [one | {"pH": HOLE}]}, "9" * 400),
    )
    add("records, 2^64", JSON, {"dataframe_records": [one | {"pH": 2**64}]})
    for key in ("instances", "inputs"):
        add(f"{key}, string 3.3", JSON, {key: [one | {"pH": "3.3"}]})
        add(f"{key}, acid", JSON, {key: [one | {"pH": "acid"}]})
        add(f"{key}, null", JSON, {key: [one | {"pH": None}]})
        add(f"{key}, extra key", JSON, {key: [one | {"x": "zz"}]})
        add(f"{key}, a key missing in one", JSON, {key: [one, without_ph]})
        add(f"{key}, missing column", JSON, {key: [without_ph]})
        add(f"{key}, empty list", JSON, {key: []})
        add(f"{key}, a number", JSON, {key: 5})
        add(f"{key}, a string", JSON, {key: "abc"})
        add(f"{key}, rows with a string", JSON, {key: [[*row[:10], "acid"]]})
        add(f"{key}, ragged rows", JSON, {key: [row, row[:3]]})
        add(
            f"{key}, ragged columns",
            JSON,
            {key: {k: [v, v] if k != "pH" else [v] for k, v in one.items()}},
        )
        add(f"{key}, one row of scalars", JSON, {key: one})
        add(f"{key}, scalars and an extra scalar", JSON, {key: one | {"x": "zz"}})
        add(
            f"{key}, columns and an extra column",
            JSON,
            {key: {k: [v] for k, v in one.items()} | {"x": ["zz"]}},
        )
        add(
            f"{key}, a scalar among columns",
            JSON,
            {key: {k: [v] if k != "pH" else v for k, v in one.items()}},
        )
        add(f"{key}, empty columns", JSON, {key: {k: [] for k in F}})
        add(
            f"{key}, an object value",
            JSON,
            {key: {k: [v] if k != "pH" else [{"a": 1}] for k, v in one.items()}},
        )
        add(f"{key}, integer beyond a double", JSON, literal({key: {"pH": [HOLE]}}, "9" * 400))
    add("llm key beside a format", JSON, split | {"input": 1})
    add("params not an object", JSON, split | {"params": 5})
    add("json with a byte order mark", JSON, b"\xef\xbb\xbf" + _body(split))
    add("json in utf-16", JSON, json.dumps(split).encode("utf-16"))
    add("json, charset latin-1", JSON + "; charset=latin-1", b"{}")
    add("text/plain", "text/plain", _body(records))

    # Edges: CSV as pandas reads it.
    add("csv", CSV, frame.to_csv(index=False))
    add("csv, byte order mark", CSV, "\ufeff" + frame.to_csv(index=False))
    add("csv, header only", CSV, header)
    add("csv, text cell", CSV, header + "x," * 10 + "1\n")
    add("csv, missing column", CSV, "pH,alcohol\n3.3,11\n")
    add("csv, semicolons", CSV, ";".join(F) + "\n" + ";".join(map(str, row)) + "\n")
    for cell in (
        "",
        "True",
        "false",
        " 3.3 ",
        "nan",
        "NA",
        "null",
        "inf",
        "1e39",
        "1_0",
        "NAN",
        "0x10",
    ):
        add(f"csv, cell {cell!r}", CSV, header + _csv_line(with_ph(cell)) + "\n")
    add("csv, one field more", CSV, header + _csv_line([*row, 5]) + "\n")
    add("csv, two fields more", CSV, header + _csv_line([*row, 5, 6]) + "\n")
    add(
        "csv, rows longer than the first",
        CSV,
        header + _csv_line(row) + "\n" + _csv_line([*row, 5]) + "\n",
    )
    add("csv, short row", CSV, header + _csv_line(row[:5]) + "\n")
    add("csv, repeated header", CSV, _csv_line([*F, "pH"]) + "\n" + _csv_line([*row, 7]) + "\n")
    add(
        "csv, quoted",
        CSV,
        _csv_line([f'"{f}"' for f in F]) + "\n" + _csv_line([f'"{v}"' for v in row]) + "\n",
    )
    add(
        "csv, blank lines and CRLF",
        CSV,
        header.replace("\n", "\r\n") + "\r\n" + _csv_line(row) + "\r\n\r\n",
    )
    add("csv, latin-1", CSV, (header + _csv_line(row) + "\n").encode() + b"\xe9")
    add("csv, unclosed quote", CSV, header + '"' + _csv_line(row) + "\n")
    add(
        "csv, extra text column",
        CSV,
        _csv_line([*F, "colour"]) + "\n" + _csv_line([*row, "red"]) + "\n",
    )

    # Edges: Parquet types as MLflow's enforcement takes them for a double column.
    typed = {
        "int32": np.array([3, 4, 5], np.int32), "uint32": np.array([3, 4, 5], np.uint32),
        "int8": np.array([3, 4, 5], np.int8), "int64 of 0 and 1": [0, 1, 1],
        "uint64 of 0 and 1": np.array([0, 1, 1], np.uint64),
        "float16": np.array([3, 4, 5], np.float16),
        "bool": [True, False, True], "NaN": [np.nan, 3.3, 3.4], "inf": [np.inf, 3.3, 3.4],
        "1e39": [1e39, 3.3, 3.4], "nullable Int64": pd.array([3, None, 4], dtype="Int64"),
        "decimal": [Decimal("3.3")] * 3, "timestamp": pd.to_datetime(["2020-01-01"] * 3),
        "categorical": pd.Categorical([3.3, 3.3, 3.4]), "lists": [[1.0], [2.0], [3.0]],
    }  # fmt: skip
    for label, values in typed.items():
        add(f"parquet, {label} column", PARQUET, _parquet(frame.assign(pH=values)))
    add("parquet, float32", PARQUET, _parquet(frame.astype(np.float32)))
    add("parquet, without index", PARQUET, _parquet(frame, index=False))
    add(
        "parquet, named index",
        PARQUET,
        _parquet(frame.set_index(pd.Index(["a", "b", "c"], name="id"))),
    )
    add("parquet, a feature as index", PARQUET, _parquet(frame.set_index("pH")))
    add("parquet, no rows", PARQUET, _parquet(frame.iloc[:0]))
    add("parquet, garbage", PARQUET, b"not parquet")
    add("parquet, empty", PARQUET, b"")
    add("parquet, charset", PARQUET + "; charset=utf-8", _parquet(frame))
    add("parquet, other parameter", PARQUET + "; x=1", _parquet(frame))
    return [Case(name, content_type, _body(body)) for name, content_type, body in table]

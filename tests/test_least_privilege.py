"""Least privilege (docs/security.md): each role's S3 key does its commands and nothing
else, on a SeaweedFS enforcing the identities and policies that document gives (read
from it, so the document is what is tested). Only ``agrolake init`` creates buckets."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agrolake.errors import StorageRefused
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.samples import write_wine_quality
from agrolake.stack.identities import (
    ROLES,
    S3Key,
    iam_policy,
    seaweedfs_config,
    seaweedfs_identity,
)
from tests.conftest import s3_env
from tests.services import S3Server, start_seaweedfs
from tests.test_cli import cli

ROOT = Path(__file__).resolve().parent.parent
ZONES = ("landing-zone", "raw-zone", "trusted-zone", "refined-zone")

Run = Callable[..., tuple[int, str, str]]


def documented(name: str) -> Any:
    """The JSON block of docs/security.md marked ``<!-- tested: name -->``."""
    text = (ROOT / "docs" / "security.md").read_text()
    found = re.search(rf"<!-- tested: {name} -->\n```json\n(.*?)\n```", text, re.DOTALL)
    assert found, f"docs/security.md has no block {name}"
    return json.loads(found.group(1))


def identities_and_policies() -> dict[str, Any]:
    """The document's identities (actions), its put-only uploader, and an identity per
    AWS/MinIO policy (``<role>-policy``), in one ``-s3.config``."""
    identities = documented("seaweedfs-identities")["identities"]
    put_only = documented("seaweedfs-put-only-uploader")
    [uploader] = put_only["identities"]
    policies = list(put_only["policies"])
    [uploader_policy] = policies
    assert uploader_policy["document"] == documented("policy-uploader")
    identities.append({**uploader, "name": "uploader-put-only"})
    for role in ("worker", "reader"):
        policies.append({"name": f"agrolake-{role}", "document": documented(f"policy-{role}")})
        identities.append({"name": f"{role}-policy", "policyNames": [f"agrolake-{role}"]})
    return {"identities": identities, "policies": policies}


def test_the_documents_are_the_rights_the_stack_gives() -> None:
    """The documents are agrolake.stack.identities' (whose ``seaweedfs_config`` is the
    stack's -s3.config), so what this module runs on SeaweedFS is what the stack enforces."""
    buckets = {z.removesuffix("-zone"): z for z in ZONES} | {"mlflow": "mlflow"}
    keys = {role: S3Key(f"{role.upper()}_KEY_ID", f"{role.upper()}_SECRET") for role in ROLES}
    identities = [seaweedfs_identity(role, keys[role], buckets) for role in ROLES]
    assert documented("seaweedfs-identities") == {"identities": identities}
    stack = seaweedfs_config(keys, buckets)
    put_only = seaweedfs_identity("uploader", keys["uploader"], buckets, put_only=True)
    assert documented("seaweedfs-put-only-uploader") == {
        "identities": [put_only],
        "policies": stack["policies"],
    }
    assert stack["identities"] == [identities[0], put_only, *identities[2:]]
    for role in ("uploader", "worker", "reader"):
        assert documented(f"policy-{role}") == iam_policy(role, buckets), role


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_seaweedfs(
        tmp_path_factory.mktemp("seaweedfs-roles"), s3_config=identities_and_policies()
    )
    admin = server.s3_client()
    for bucket in (*ZONES, "mlflow"):
        admin.create_bucket(Bucket=bucket)
    yield server
    server.stop()


def _settings(server: S3Server, identity: str, home: Path) -> dict[str, str]:
    key_id, secret = server.keys[identity]
    return {
        "AGROLAKE_HOME": str(home),
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": server.endpoint_url,
        "AGROLAKE_S3_ACCESS_KEY_ID": key_id,
        "AGROLAKE_S3_SECRET_ACCESS_KEY": secret,
        "AGROLAKE_S3_REGION": server.region,
    }


@pytest.fixture
def lake_of(seaweedfs: S3Server, tmp_path: Path) -> Iterator[Callable[[str], Lake]]:
    """A fresh lake (empty buckets, new catalog) and each role's view of it."""
    admin = Lake(Settings(**_lower(_settings(seaweedfs, "admin", tmp_path / "home"))))
    for zone in ("landing", "raw", "trusted", "refined"):
        admin.store.delete_all(zone)  # type: ignore[arg-type]
    opened: list[Lake] = []

    def lake_of(identity: str) -> Lake:
        lake = Lake(Settings(**_lower(_settings(seaweedfs, identity, tmp_path / "home"))))
        opened.append(lake)
        return lake

    yield lake_of
    for lake in opened:
        lake.close()


def _lower(env: dict[str, str]) -> dict[str, Any]:
    return {name.removeprefix("AGROLAKE_").lower(): value for name, value in env.items()}


@pytest.fixture
def run_as(
    seaweedfs: S3Server,
    lake_of: Callable[[str], Lake],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., tuple[int, str, str]]:
    """``agrolake ARGS`` with ``identity``'s key: (exit code, stdout, stderr)."""

    def run(identity: str, *args: str) -> tuple[int, str, str]:
        for name, value in _settings(seaweedfs, identity, tmp_path / "home").items():
            monkeypatch.setenv(name, value)
        return cli(capsys, monkeypatch, *args)

    return run


def refused(result: tuple[int, str, str], *words: str) -> bool:
    """A refusal: exit code 1 and one error line saying ``words``."""
    code, _, err = result
    lines = err.strip().splitlines()
    return (
        code == 1
        and len(lines) == 1
        and lines[0].startswith("error: ")
        and all(w in lines[0] for w in words)
    )


def _keys(server: S3Server, bucket: str) -> list[str]:
    listed = server.s3_client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(item["Key"] for item in listed)


# --------------------------------------------------------------------------- buckets


def test_only_init_creates_buckets_and_other_commands_name_a_missing_one(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """An administrator's key on a store without the buckets: nothing but init makes them."""
    env = s3_env(s3_server, f"b{secrets.token_hex(5)}") | {"AGROLAKE_HOME": str(tmp_path / "h")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    landing = env["AGROLAKE_BUCKET_LANDING"]
    wine = write_wine_quality(tmp_path / "vino.csv", rows=5)

    def run(*args: str) -> tuple[int, str, str]:
        return cli(capsys, monkeypatch, *args)

    for args in (("ingest", str(wine)), ("run",), ("status",)):
        result = run(*args)
        assert refused(result, f"there is no bucket {landing}", "`agrolake init`"), result
    trusted = env["AGROLAKE_BUCKET_TRUSTED"]
    result = run("query", "SELECT count(*) FROM trusted.lab_wine_quality")
    assert refused(result, f"there is no bucket {trusted}", "`agrolake init`"), result
    existing = {b["Name"] for b in s3_server.s3_client().list_buckets()["Buckets"]}
    assert not {env[f"AGROLAKE_BUCKET_{z}"] for z in ("LANDING", "RAW")} & existing

    assert run("init")[0] == 0
    assert run("ingest", str(wine))[0] == 0
    assert run("run")[0] == 0
    code, out, _ = run(
        "query", "SELECT count(*) AS n FROM trusted.lab_wine_quality", "--format", "json"
    )
    assert code == 0 and json.loads(out) == [{"n": 5}]


# --------------------------------------------------------------------------- uploader


@pytest.mark.parametrize("uploader", ["uploader", "uploader-put-only"])
def test_an_uploader_key_limited_to_landing(
    uploader: str, run_as: Run, seaweedfs: S3Server, lake_of: Callable[[str], Lake], tmp_path: Path
) -> None:
    wine = write_wine_quality(tmp_path / "vino.csv", rows=5)
    assert run_as(uploader, "ingest", str(wine))[:2] == (
        0,
        "ingest: 1 files (0.0 MB) into landing\n",
    )
    # The same name again: a create-only put (If-None-Match) finds it and keeps both.
    assert run_as(uploader, "ingest", str(wine))[0] == 0
    assert _keys(seaweedfs, "landing-zone") == ["vino (2).csv", "vino.csv"]
    assert not (tmp_path / "home" / "catalog.db").exists(), "ingest needs no catalog"

    for args in (("run",), ("status",)):
        assert refused(run_as(uploader, *args), "list s3://landing-zone/", "access denied")
    query = run_as(uploader, "query", "SELECT * FROM trusted.lab_wine_quality")
    assert refused(query, "trusted", "access denied"), query
    assert refused(run_as(uploader, "rebuild", "--all"), "access denied")

    lake = lake_of(uploader)
    for zone, key in (("landing", "vino.csv"), ("raw", "x.csv"), ("trusted", "x")):
        with pytest.raises(StorageRefused, match="access denied"):
            lake.store.read(zone, key)  # type: ignore[arg-type]
    with pytest.raises(StorageRefused, match="access denied"):
        lake.store.put("raw", "x.csv", b"1")
    with pytest.raises(StorageRefused, match="access denied"):
        lake.store.put("trusted", "x", b"1")
    with pytest.raises(StorageRefused, match="needs a key that may create buckets"):
        lake.store.ensure_buckets(("another-bucket",))

    client = seaweedfs.s3_client(uploader)
    if uploader == "uploader-put-only":
        with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
            client.delete_object(Bucket="landing-zone", Key="vino.csv")
        assert _keys(seaweedfs, "landing-zone") == ["vino (2).csv", "vino.csv"]
    else:  # SeaweedFS's Write:<bucket> includes delete (the document says so)
        client.delete_object(Bucket="landing-zone", Key="vino (2).csv")
        assert _keys(seaweedfs, "landing-zone") == ["vino.csv"]
    # Above boto3's 8 MiB threshold a file goes up in parts: the same right suffices.
    large = tmp_path / "large.bin"
    large.write_bytes(secrets.token_bytes(9 * 1024 * 1024))
    client.upload_file(str(large), "landing-zone", "large.bin")
    assert "large.bin" in _keys(seaweedfs, "landing-zone")


# --------------------------------------------------------------------------- worker, reader


@pytest.mark.parametrize("form", ["actions", "policies"])
def test_the_worker_runs_every_zone_and_the_reader_only_queries(
    form: str, run_as: Run, seaweedfs: S3Server, lake_of: Callable[[str], Lake], tmp_path: Path
) -> None:
    worker, reader = (
        ("worker", "reader") if form == "actions" else ("worker-policy", "reader-policy")
    )
    (tmp_path / "files").mkdir()
    write_wine_quality(tmp_path / "files" / "vino.csv", rows=20)
    (tmp_path / "files" / "empty.csv").write_bytes(b"")
    assert run_as("uploader-put-only", "ingest", str(tmp_path / "files"))[0] == 0

    code, out, err = run_as(worker, "run", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["landing"] == {"raw": 1, "invalid": 1}
    assert {w["table"] for w in summary["trusted"]} >= {"trusted.lab_wine_quality"}
    assert {w["table"] for w in summary["refined"]} >= {"refined.ml_wine_quality"}
    assert [k for k in _keys(seaweedfs, "landing-zone") if k.startswith("invalid/")]
    assert run_as(worker, "replay", "--all")[0] == 0  # invalid/ back to landing
    assert json.loads(run_as(worker, "run", "--json")[1])["landing"] == {"invalid": 1}
    code, _, err = run_as(worker, "rebuild", "trusted.lab_wine_quality")
    assert code == 0, err
    status = json.loads(run_as(worker, "status", "--json")[1])
    assert status["raw"]["objects"] == 1 and status["landing"]["invalid"] == 1
    # MLflow's artifact store (boto3 underneath): upload, list, download, delete.
    client = seaweedfs.s3_client(worker)
    client.put_object(Bucket="mlflow", Key="1/run/artifacts/model.onnx", Body=b"onnx")
    assert client.list_objects_v2(Bucket="mlflow")["KeyCount"] == 1
    assert client.get_object(Bucket="mlflow", Key="1/run/artifacts/model.onnx")["Body"].read()
    client.delete_object(Bucket="mlflow", Key="1/run/artifacts/model.onnx")
    # init on a lake an administrator set up: nothing to create, so the worker's key does.
    assert run_as(worker, "init")[0] == 0
    with pytest.raises(StorageRefused, match="needs a key that may create buckets"):
        lake_of(worker).store.ensure_buckets(("another-bucket",))

    sql = "SELECT count(*) AS n FROM trusted.lab_wine_quality"
    code, out, err = run_as(reader, "query", sql, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [{"n": 20}]
    code, out, err = run_as(reader, "query", "SELECT count(*) AS n FROM refined.ml_wine_quality")
    assert code == 0, err
    for args in (("run",), ("status",), ("ingest", str(tmp_path / "files" / "vino.csv"))):
        assert refused(run_as(reader, *args), "s3://landing-zone/", "access denied")
    assert refused(run_as(reader, "rebuild", "trusted.lab_wine_quality"), "access denied")
    with pytest.raises(StorageRefused, match="access denied"):
        lake_of(reader).store.list("raw").__next__()
    assert status == json.loads(run_as(worker, "status", "--json")[1]), "the reader wrote nothing"

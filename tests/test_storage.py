"""The object store API, the same test on the local folder and on real S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from agrolake.errors import ObjectExists, ObjectNotFound, StorageError
from agrolake.lake import Lake


def test_put_create_only_refuses_to_overwrite(lake: Lake) -> None:
    lake.store.put("landing", "a/b.csv", b"one", create_only=True)
    with pytest.raises(ObjectExists):
        lake.store.put("landing", "a/b.csv", b"two", create_only=True)
    assert lake.store.read("landing", "a/b.csv") == b"one"


def test_stream_head_list_copy_delete(lake: Lake, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # 10 MB: a multipart put
    lake.store.put("landing", "dir/big.bin", big)
    assert (
        b"".join(lake.store.stream("landing", "dir/big.bin", chunk_size=1 << 20))
        == big.read_bytes()
    )
    assert lake.store.head("landing", "dir/big.bin").size == big.stat().st_size

    lake.store.copy("landing", "dir/big.bin", "landing", "copy/big.bin")
    lake.store.copy("landing", "dir/big.bin", "raw", "x/big.bin", create_only=True)
    with pytest.raises(ObjectExists):
        lake.store.copy("landing", "dir/big.bin", "raw", "x/big.bin", create_only=True)
    with pytest.raises(ObjectExists):
        lake.store.copy("landing", "dir/big.bin", "landing", "copy/big.bin", create_only=True)
    assert sorted(o.key for o in lake.store.list("landing")) == ["copy/big.bin", "dir/big.bin"]
    assert [o.key for o in lake.store.list("landing", prefix="copy")] == ["copy/big.bin"]
    assert lake.store.head("raw", "x/big.bin").size == big.stat().st_size

    lake.store.delete("landing", "dir/big.bin")
    lake.store.delete("landing", "dir/big.bin")  # deleting twice is fine
    with pytest.raises(ObjectNotFound):
        lake.store.head("landing", "dir/big.bin")
    assert not lake.store.exists("landing", "dir/big.bin")


def test_unicode_and_spaces_in_keys(lake: Lake) -> None:
    key = "año 2023/ñandú con espacios.csv"
    lake.store.put("landing", key, b"x")
    assert [o.key for o in lake.store.list("landing")] == [key]
    assert lake.store.read("landing", key) == b"x"


def test_parent_segments_are_refused_not_escaped(lake: Lake) -> None:
    with pytest.raises(StorageError, match="invalid key"):
        lake.store.put("landing", "../escape.csv", b"x")
    assert list(lake.store.list("landing")) == []


def test_init_is_idempotent(lake: Lake) -> None:
    lake.store.put("landing", "keep.csv", b"x")
    assert lake.init() == lake.init()
    assert lake.store.exists("landing", "keep.csv")


def test_wrong_credentials_are_one_line_without_the_secret(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from agrolake.lake.settings import Settings
    from tests.conftest import s3_env

    env = s3_env(s3_server, "wrongcreds")
    settings = Settings(
        home=tmp_path,
        storage_url="s3://",
        s3_endpoint_url=env["AGROLAKE_S3_ENDPOINT_URL"],
        s3_access_key_id=s3_server.access_key_id,
        s3_secret_access_key="not-the-secret-at-all",
    )
    with pytest.raises(StorageError) as error:
        Lake(settings).store.put("landing", "x.csv", b"x")
    assert "not-the-secret-at-all" not in str(error.value)
    assert s3_server.secret_access_key not in str(error.value)
    assert "\n" not in error.value.message


def test_no_key_at_all_names_the_settings_not_the_metadata_service() -> None:
    from agrolake.lake.storage import refusal

    # What the S3 client says when no key is set and it asked for an instance's role.
    said = (
        "Generic S3 error: Error performing PUT http://169.254.169.254/latest/api/token in "
        "1.4ms - Server returned non-2xx status code: 403 Forbidden"
    )
    refused = refusal(said, "list s3://landing-zone/", "landing-zone", "http://127.0.0.1:9")
    assert refused is not None and refused.stops_run
    assert "AGROLAKE_S3_ACCESS_KEY_ID" in refused.message and "127.0.0.1:9" in refused.message
    assert "169.254" not in refused.message and "\n" not in refused.message


def test_a_closed_port_is_one_line_saying_the_server_does_not_answer(tmp_path: Path) -> None:
    import socket

    from agrolake.errors import StorageUnavailable
    from agrolake.lake.settings import Settings

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        home=tmp_path,
        storage_url="s3://",
        s3_endpoint_url=f"http://127.0.0.1:{port}",
        s3_access_key_id="key",
        s3_secret_access_key="secret",
    )
    with pytest.raises(StorageUnavailable) as error:
        Lake(settings).store.put("landing", "x.csv", b"x")
    assert error.value.transient
    assert f"127.0.0.1:{port}: the S3 server does not answer" in error.value.message
    assert "\n" not in error.value.message

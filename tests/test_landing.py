"""Landing → raw or invalid, on the local folder with SQLite and on S3 with PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.catalog import RAW
from agrolake.lake.settings import Settings
from agrolake.samples import write_wine_quality
from agrolake.zones.landing import REASON_SUFFIX, pending, process_landing
from agrolake.zones.replay import replay
from tests import corpus


def land(lake: Lake, key: str, data: bytes) -> None:
    lake.store.put("landing", key, data)


def test_valid_file_goes_to_raw_unchanged_with_metadata(lake: Lake, tmp_path: Path) -> None:
    data = write_wine_quality(tmp_path / "w.csv", rows=40, seed=2).read_bytes()
    land(lake, "uploads/vinos tintos.csv", data)

    summary = process_landing(lake)

    assert summary.counts == {"raw": 1}
    [row] = lake.catalog.find(status=RAW)
    assert row.dataset == "lab.wine_quality" and row.source == "UCI"
    assert row.raw_key.startswith("UCI/lab.wine_quality/")
    assert row.raw_key.endswith(f"/{row.ingest_id}-vinos_tintos.csv")
    assert row.original_name == "vinos tintos.csv"
    assert lake.store.read("raw", row.raw_key) == data
    assert list(pending(lake)) == []
    if lake.store.is_s3:  # the object carries its metadata and tags where the store keeps them
        client = _s3_client(lake)
        bucket = lake.settings.bucket("raw")
        head = client.head_object(Bucket=bucket, Key=row.raw_key)
        assert head["Metadata"]["ingest-id"] == row.ingest_id
        assert head["Metadata"]["sha256"] == row.sha256
        assert (
            head["Metadata"]["original-key"] == "uploads/vinos%20tintos.csv"
            or head["Metadata"]["original-key"] == "uploads/vinos tintos.csv"
        )
        assert head["ContentType"] == "text/csv"
        tags = client.get_object_tagging(Bucket=bucket, Key=row.raw_key)["TagSet"]
        assert {"Key": "dataset", "Value": "lab.wine_quality"} in tags


def _s3_client(lake: Lake):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", **lake.settings.s3.to_boto3())


def test_every_corpus_file_ends_in_raw_invalid_or_duplicate(lake: Lake, tmp_path: Path) -> None:
    limit = 512 * 1024
    lake = Lake(Settings(**{**lake.settings.model_dump(), "max_file_mb": limit / 1024**2}))
    cases = corpus.build(tmp_path / "corpus", max_file_bytes=limit)
    for case in cases:
        land(lake, case.key, case.data)

    summary = process_landing(lake)

    assert len(summary.outcomes) == len(cases), "every landed file has one outcome"
    assert list(pending(lake)) == [], "landing is empty afterwards"
    by_key = {o.landing_key: o for o in summary.outcomes}
    for case in cases:
        outcome = by_key[case.key]
        if sum(c.data == case.data for c in cases) > 1:
            continue  # checked per group below
        assert outcome.status == case.status, f"{case.key}: {outcome.reason}"
        if case.status == "invalid":
            report = json.loads(lake.store.read("landing", outcome.key + REASON_SUFFIX))
            assert report["code"] == case.code, f"{case.key}: {report['reason']}"
            assert report["original_key"] == case.key
            assert "\n" not in report["reason"] and report["reason"]
            # Nothing lost: the rejected bytes are kept as they came.
            assert lake.store.read("landing", outcome.key) == case.data
    # Identical files: whichever came first is raw, each other one a duplicate.
    groups: dict[bytes, list[str]] = {}
    for case in cases:
        groups.setdefault(case.data, []).append(by_key[case.key].status)
    for statuses in groups.values():
        if len(statuses) > 1:
            assert sorted(statuses) == ["duplicate"] * (len(statuses) - 1) + ["raw"]
    counts = summary.counts
    assert counts["raw"] == 4 and counts["duplicate"] == 1
    assert counts["invalid"] == len([c for c in cases if c.status == "invalid"])


def test_unknown_file_reason_names_the_closest_contract(local_lake: Lake) -> None:
    land(local_lake, "parcelas_2023.csv", b"Cosecha,Provincia Id\n2023,50\n")
    [outcome] = process_landing(local_lake).outcomes
    assert outcome.status == "invalid"
    assert "parcelas_2023.csv" in outcome.reason
    assert "erp.parcels_and_treatments" in outcome.reason or "closest" in outcome.reason


def test_same_bytes_again_is_a_duplicate_and_not_ingested_twice(lake: Lake, tmp_path: Path) -> None:
    data = write_wine_quality(tmp_path / "w.csv", rows=30, seed=5).read_bytes()
    land(lake, "a.csv", data)
    process_landing(lake)
    land(lake, "b.csv", data)

    [outcome] = process_landing(lake).outcomes

    assert outcome.status == "duplicate"
    assert "a.csv" in outcome.reason
    assert len(list(lake.store.list("raw"))) == 1
    assert lake.catalog.count_by_status() == {"raw": 1, "duplicate": 1}


def test_rejected_bytes_may_come_back_after_a_fix(local_lake: Lake, tmp_path: Path) -> None:
    """A rejected file replayed after its contract is fixed is processed as a new upload."""
    land(local_lake, "vino.csv", b"fixed acidity,quality\n7.4,5\n")
    [first] = process_landing(local_lake).outcomes
    assert first.status == "invalid"

    assert replay(local_lake, [first.ingest_id]) == ["vino.csv"]
    assert not local_lake.store.exists("landing", first.key)
    assert not local_lake.store.exists("landing", first.key + REASON_SUFFIX)
    [again] = process_landing(local_lake).outcomes

    assert again.ingest_id != first.ingest_id
    assert again.status == "invalid"  # still the same bytes; a new ingest, reported again
    assert local_lake.catalog.get(first.ingest_id).status == "replayed"


def test_bytes_rejected_once_are_accepted_later_not_called_duplicates(tmp_path: Path) -> None:
    data = write_wine_quality(tmp_path / "w.csv", rows=200, seed=9).read_bytes()
    strict = Lake(Settings(home=tmp_path / "home", max_file_mb=len(data) / 2 / 1024**2))
    strict.init()
    land(strict, "vino.csv", data)
    assert [o.status for o in process_landing(strict).outcomes] == ["invalid"]

    relaxed = Lake(Settings(home=tmp_path / "home"))  # the limit raised, the file sent again
    land(relaxed, "vino.csv", data)
    assert [o.status for o in process_landing(relaxed).outcomes] == ["raw"]
    assert relaxed.catalog.count_by_status() == {"raw": 1, "invalid": 1}


def test_new_upload_under_a_used_key_is_a_new_ingest(local_lake: Lake, tmp_path: Path) -> None:
    one = write_wine_quality(tmp_path / "1.csv", rows=20, seed=1).read_bytes()
    two = write_wine_quality(tmp_path / "2.csv", rows=20, seed=2).read_bytes()
    land(local_lake, "vino.csv", one)
    process_landing(local_lake)
    land(local_lake, "vino.csv", two)
    process_landing(local_lake)
    rows = local_lake.catalog.find(landing_key="vino.csv")
    assert [r.status for r in rows] == ["raw", "raw"]
    assert rows[0].sha256 != rows[1].sha256


def test_files_under_invalid_prefix_are_not_reprocessed(local_lake: Lake) -> None:
    land(local_lake, "bad.csv", b"a,b\n1,2\n")
    process_landing(local_lake)
    assert process_landing(local_lake).outcomes == []


@pytest.mark.parametrize("key", ["con espacios/año 2024.csv", "ñandú.csv"])
def test_awkward_keys_are_sanitised_in_zone_keys(
    local_lake: Lake, key: str, tmp_path: Path
) -> None:
    land(
        local_lake, key, write_wine_quality(tmp_path / "w.csv", rows=5, seed=len(key)).read_bytes()
    )
    [outcome] = process_landing(local_lake).outcomes
    assert outcome.status == "raw"
    assert " " not in outcome.key and "/.." not in outcome.key
    assert local_lake.catalog.get(outcome.ingest_id).original_name == key.rsplit("/", 1)[-1]


def test_a_reader_crash_rejects_the_file_and_the_batch_goes_on(
    local_lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import agrolake.readers

    real = agrolake.readers.read_sample

    def fragile(path: Path, name: str, *limits):  # type: ignore[no-untyped-def]
        if name == "raro.csv":
            raise IndexError("list index out of range")
        return real(path, name, *limits)

    monkeypatch.setattr(agrolake.readers, "read_sample", fragile)  # landing imports it per file
    land(local_lake, "raro.csv", b"a,b\n1,2\n")
    land(local_lake, "vino.csv", write_wine_quality(tmp_path / "w.csv", rows=5).read_bytes())

    by_key = {o.landing_key: o for o in process_landing(local_lake).outcomes}

    assert by_key["vino.csv"].status == "raw"
    assert by_key["raro.csv"].status == "invalid"
    assert (
        by_key["raro.csv"].reason
        == "raro.csv could not be read: IndexError: list index out of range"
    )

"""Catalog claims and outcomes, the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agrolake.errors import CatalogError, ConfigError
from agrolake.lake.catalog import Catalog, InvalidRecord, RawRecord, ReadOptions
from agrolake.lake.storage import ObjectInfo

LEASE = timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest) -> Iterator[Catalog]:
    request.param  # noqa: B018 - read by new_catalog_url through the same param
    url = request.getfixturevalue("new_catalog_url")
    catalog = Catalog(url)
    catalog.migrate()
    yield catalog
    catalog.dispose()


@pytest.fixture
def new_catalog_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.node.callspec.params["catalog"] == "postgresql":
        import secrets

        return request.getfixturevalue("postgres").create_database(f"c{secrets.token_hex(6)}")
    return f"sqlite:///{tmp_path / 'catalog.db'}"


UPLOADED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def objects(n: int, tag: str = "e") -> list[ObjectInfo]:
    """The same landing objects on every call (unless ``tag`` says a new upload)."""
    return [ObjectInfo(f"f{i}.csv", 10 + i, UPLOADED, f'"{tag}{i}"') for i in range(n)]


def raw(key: str) -> RawRecord:
    return RawRecord("abc", "lab.wine_quality", "UCI", 1, key, ReadOptions("csv", "utf-8", ","))


def test_a_claimed_object_is_not_claimed_again(catalog: Catalog) -> None:
    files = objects(3)
    mine = catalog.claim(files, "w1", LEASE)
    assert sorted(c.obj.key for c in mine) == ["f0.csv", "f1.csv", "f2.csv"]
    assert all(c.attempts == 1 and c.status == "claimed" for c in mine)
    assert catalog.claim(files, "w2", LEASE) == []


def test_an_expired_claim_is_taken_over_with_the_same_ingest_id(catalog: Catalog) -> None:
    files = objects(2)
    first = {c.obj.key: c.ingest_id for c in catalog.claim(files, "dead", timedelta(seconds=-1))}
    taken = catalog.claim(files, "alive", LEASE)
    assert {c.obj.key: c.ingest_id for c in taken} == first
    assert all(c.attempts == 2 for c in taken)
    # The dead worker can no longer record an outcome for them.
    assert not catalog.record_raw(first["f0.csv"], "dead", raw("k"))
    assert catalog.record_raw(first["f0.csv"], "alive", raw("k"))
    assert catalog.get(first["f0.csv"]).raw_key == "k"


def test_a_new_upload_under_the_same_key_is_a_new_ingest(catalog: Catalog) -> None:
    [old] = catalog.claim(objects(1, "a"), "w", LEASE)
    catalog.record_raw(old.ingest_id, "w", raw("k"))
    [new] = catalog.claim(objects(1, "b"), "w", LEASE)
    assert new.ingest_id != old.ingest_id and new.status == "claimed"


def test_renew_keeps_only_the_workers_live_claims(catalog: Catalog) -> None:
    claims = catalog.claim(objects(3), "w", LEASE)
    catalog.record_raw(claims[0].ingest_id, "w", raw("k"))
    held = catalog.renew([c.ingest_id for c in claims], "w", LEASE)
    assert held == {claims[1].ingest_id, claims[2].ingest_id}
    assert catalog.renew([c.ingest_id for c in claims], "other", LEASE) == set()


def test_content_has_one_owner_until_released(catalog: Catalog) -> None:
    assert catalog.own_content("abc", "i1") == "i1"
    assert catalog.own_content("abc", "i2") == "i1"
    catalog.release_content("abc", "i2")  # not the owner: no effect
    assert catalog.own_content("abc", "i3") == "i1"
    catalog.release_content("abc", "i1")
    assert catalog.own_content("abc", "i3") == "i3"


def test_failed_attempt_keeps_the_reason_and_frees_the_claim(catalog: Catalog) -> None:
    [claim] = catalog.claim(objects(1), "w1", LEASE)
    catalog.record_failure(claim.ingest_id, "w1", "store unreachable")
    [again] = catalog.claim(objects(1), "w2", LEASE)
    assert again.ingest_id == claim.ingest_id and again.attempts == 2
    assert catalog.get(claim.ingest_id).reason == "store unreachable"


def test_migrate_twice_and_counts(catalog: Catalog) -> None:
    catalog.migrate()
    claims = catalog.claim(objects(3), "w", LEASE)
    rejected = InvalidRecord(None, "bad", {"code": "unreadable"}, "invalid/x")
    assert catalog.record_invalid(claims[0].ingest_id, "w", rejected)
    assert catalog.count_by_status() == {"claimed": 2, "invalid": 1}
    assert [r.reason for r in catalog.find(status="invalid")] == ["bad"]


def test_bad_catalog_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        Catalog("no such url")


def test_unreachable_catalog_names_it_without_password(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"postgresql+psycopg://user:pa55word@/db?host={tmp_path}"
    with pytest.raises(CatalogError) as error:
        Catalog(url).migrate()
    assert "pa55word" not in str(error.value) and "***" in str(error.value)


def test_head_revision_is_alembics_head(catalog: Catalog) -> None:
    """The quick "already migrated" check reads the head from the file names."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from agrolake.lake.catalog.database import MIGRATIONS, at_head, head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert at_head(catalog.engine)
    with catalog.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not at_head(catalog.engine)

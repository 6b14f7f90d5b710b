from __future__ import annotations

from pathlib import Path

import pytest

from agrolake.errors import ConfigError
from agrolake.lake.settings import Settings, load_settings


def test_defaults_are_the_embedded_profile(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.home == Path(".agrolake")
    assert not settings.uses_s3
    assert settings.lake_folder == (tmp_path / ".agrolake" / "lake").resolve()
    assert settings.catalog == f"sqlite:///{(tmp_path / '.agrolake' / 'catalog.db').resolve()}"
    assert [settings.bucket(z) for z in ("landing", "raw", "trusted", "refined")] == [
        "landing-zone",
        "raw-zone",
        "trusted-zone",
        "refined-zone",
    ]


def test_environment_and_dotenv_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("AGROLAKE_BUCKET_RAW=bronze\nAGROLAKE_MAX_FILE_MB=5\n")
    monkeypatch.setenv("AGROLAKE_MAX_FILE_MB", "7")  # the environment wins over .env
    settings = load_settings()
    assert settings.bucket("raw") == "bronze"
    assert settings.max_file_bytes == 7 * 1024 * 1024


def test_secret_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGROLAKE_S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.s3.to_obstore()["config"]["secret_access_key"] == "hunter2-very-secret"
    assert settings.s3.to_boto3()["aws_secret_access_key"] == "hunter2-very-secret"


def test_s3_url_selects_s3_with_path_style_and_http(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(storage_url="s3://", s3_endpoint_url="http://127.0.0.1:9000")
    assert settings.uses_s3
    options = settings.s3.to_obstore()
    assert options["client_options"]["allow_http"] is True
    assert options["retry_config"]["max_retries"] == 3, "an outage fails in bounded time"
    assert options["config"]["virtual_hosted_style_request"] is False


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("AGROLAKE_MAX_FILE_MB", "lots", "AGROLAKE_MAX_FILE_MB"),
        ("AGROLAKE_STORAGE_URL", "ftp://x", "not supported"),
        ("AGROLAKE_STORAGE_URL", "s3://landing-zone", "give s3:// alone"),
    ],
)
def test_bad_settings_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert fragment in error.value.message
    assert "\n" not in error.value.message

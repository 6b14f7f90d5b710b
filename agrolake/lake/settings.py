"""One typed settings object, read once from ``AGROLAKE_*`` variables and ``.env``.

Everything else receives the object (or a part of it); no module reads the
environment on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agrolake.errors import ConfigError

Zone = Literal["landing", "raw", "trusted", "refined"]
ZONES: tuple[Zone, ...] = ("landing", "raw", "trusted", "refined")


@dataclass(frozen=True)
class S3Credentials:
    """The S3 endpoint and keys, mapped once for every client that needs them."""

    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: SecretStr | None
    region: str
    # How long one request may keep being retried before it fails (an outage is then
    # one clear error, not minutes of silence per file).
    retry_seconds: float = 20.0
    connect_seconds: float = 5.0
    retries: int = 3

    def to_obstore(self) -> dict[str, Any]:
        """Keyword arguments for ``obstore.store.S3Store``."""
        config: dict[str, Any] = {"region": self.region}
        if self.endpoint_url:
            config["endpoint"] = self.endpoint_url
            # Path-style addressing: MinIO and SeaweedFS do not serve bucket subdomains.
            config["virtual_hosted_style_request"] = False
        if self.access_key_id:
            config["access_key_id"] = self.access_key_id
        if self.secret_access_key:
            config["secret_access_key"] = self.secret_access_key.get_secret_value()
        client = {
            "allow_http": bool(self.endpoint_url and self.endpoint_url.startswith("http:")),
            "connect_timeout": timedelta(seconds=self.connect_seconds),
        }
        retry = {
            "max_retries": self.retries,
            "retry_timeout": timedelta(seconds=self.retry_seconds),
        }
        return {"config": config, "client_options": client, "retry_config": retry}

    def to_delta(self) -> dict[str, str]:
        """``storage_options`` for delta-rs (and polars' Delta reader)."""
        options = {
            "AWS_REGION": self.region,
            "conditional_put": "etag",
            "max_retries": str(self.retries),
            "retry_timeout": f"{self.retry_seconds:g}s",
            "connect_timeout": f"{self.connect_seconds:g}s",
        }
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
            options["AWS_ALLOW_HTTP"] = str(self.endpoint_url.startswith("http:")).lower()
        if self.access_key_id:
            options["AWS_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key:
            options["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key.get_secret_value()
        return options

    def to_mlflow_env(self) -> dict[str, str]:
        """Environment for MLflow's S3 artifact store (boto3 underneath)."""
        env = {"AWS_DEFAULT_REGION": self.region}
        if self.endpoint_url:
            env["MLFLOW_S3_ENDPOINT_URL"] = self.endpoint_url
        if self.access_key_id:
            env["AWS_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key:
            env["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key.get_secret_value()
        return env

    def to_boto3(self) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client("s3", ...)``."""
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "region_name": self.region,
            "config": Config(
                connect_timeout=self.connect_seconds,
                retries={"max_attempts": self.retries, "mode": "standard"},
            ),
        }
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.access_key_id:
            kwargs["aws_access_key_id"] = self.access_key_id
        if self.secret_access_key:
            kwargs["aws_secret_access_key"] = self.secret_access_key.get_secret_value()
        return kwargs


class Settings(BaseSettings):
    """agrolake's settings; each field is read from ``AGROLAKE_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="AGROLAKE_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Field(
        Path(".agrolake"),
        description="Folder for the embedded profile: the lake folder and SQLite files.",
    )
    storage_url: str | None = Field(
        None,
        description="Where the zone buckets live: a folder path or file:// URL, or s3:// "
        "for an S3 endpoint. Default: the folder lake/ under the home.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO; unset for AWS."
    )
    s3_access_key_id: str | None = Field(None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    s3_region: str = Field("us-east-1", description="S3 region (MinIO accepts any).")
    bucket_landing: str = Field("landing-zone", description="Bucket of the landing zone.")
    bucket_raw: str = Field("raw-zone", description="Bucket of the raw zone.")
    bucket_trusted: str = Field("trusted-zone", description="Bucket of the trusted zone.")
    bucket_refined: str = Field("refined-zone", description="Bucket of the refined zone.")
    catalog_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the catalog: default SQLite under the home; "
        "postgresql+psycopg://user:password@host/db in production.",
    )
    catalog_lock_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a command waits for the SQLite catalog while another agrolake "
        "process writes to it (it says so after 2 s), before it gives up with an error.",
    )
    max_file_mb: float = Field(
        512.0, gt=0, description="Landing files larger than this are rejected unread."
    )
    lease_seconds: int = Field(
        30,
        gt=0,
        description="How long a claim on a file or ingest lasts unless its worker renews "
        "it (a heartbeat does, every third of it): how soon another host's worker takes "
        "over the work of one that died. On the same host a dead worker's claims are "
        "taken over at once.",
    )
    max_new_columns: int = Field(
        50,
        ge=0,
        description="New columns one file may add to a trusted table (schema evolution); "
        "a file with more is rejected at landing (too_many_new_columns) before any write.",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        description="Attempts at a landing file or a trusted ingest before it is given up "
        "with its reason (landing: rejected as processing_failed; trusted: status failed, "
        "`agrolake retry` tries again).",
    )
    batch_size: int = Field(64, gt=0, description="Landing files claimed per catalog round trip.")
    storage_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description="How long a request to the object store (or the catalog's connection) "
        "keeps being retried before the run stops with one error naming the endpoint.",
    )
    bucket_mlflow: str = Field("mlflow", description="Bucket of MLflow's artifacts (services).")
    mlflow_tracking_uri: str | None = Field(
        None,
        description="MLflow tracking server, e.g. http://127.0.0.1:5000. Default: a SQLite "
        "file under the home with artifacts beside it (embedded, no server).",
    )
    mlflow_backend_store_uri: str | None = Field(
        None,
        description="For `agrolake mlflow-server`: its backend store, e.g. "
        "postgresql+psycopg://…/mlflow. Default: the SQLite file under the home.",
    )
    mlflow_artifacts_destination: str | None = Field(
        None,
        description="For `agrolake mlflow-server`: where it stores artifacts. Default: "
        "s3://<bucket_mlflow>/ with S3 storage, else a folder under the home.",
    )
    mlflow_token: SecretStr | None = Field(
        None,
        description="Token of the tracking server: `agrolake mlflow-server` then wants it on "
        "every request but /health ('Authorization: Bearer <token>', or a browser's password "
        "for the UI), and agrolake's MLflow clients send it (others: MLFLOW_TRACKING_TOKEN). "
        "Required for the server to listen on an address other than loopback.",
    )
    serve_token: SecretStr | None = Field(
        None,
        description="Token `agrolake serve` then wants on every request but /ping and /health "
        "('Authorization: Bearer <token>'). Required for it to listen on an address other "
        "than loopback.",
    )
    serve_strict: bool = Field(
        False,
        description="`agrolake serve` refuses extra columns and values that are not plain "
        'numbers ("3.3", true), which `mlflow models serve` drops or casts.',
    )
    train_on_run: bool | None = Field(
        None,
        description="Whether `agrolake run` retrains the model when its table changed. "
        "Default: yes without a tracking server (embedded); with one, the training "
        "deployment does it.",
    )
    include_personal_data: bool = Field(
        False,
        description="Carry personal data columns (NIFs, user names) into the trusted zone.",
    )
    datasets_dir: str | None = Field(
        None,
        description="Where dataset declaration files (*.yaml) live, loaded beside the "
        "built-in datasets: a folder, or s3://bucket/prefix so every worker sees the same "
        "ones. Default: the folder datasets/ under the home.",
    )
    webhook_token: SecretStr | None = Field(
        None,
        description="Bearer token that `agrolake webhook` requires on POST /s3-events "
        "(MinIO: MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>). The receiver refuses to start "
        "without one.",
    )
    landing_deployment: str = Field(
        "landing/on-upload",
        description="The Prefect deployment (flow/deployment) that `agrolake webhook` wakes.",
    )
    locations_file: Path | None = Field(
        None,
        description="A CSV of more weather locations (the columns of the shipped table, "
        "agrolake/data/locations.csv); its rows add to the shipped ones, and replace a "
        "shipped row of the same municipality.",
    )
    open_meteo_url: str = Field(
        "https://archive-api.open-meteo.com/v1/archive",
        description="Open-Meteo historical weather endpoint (GET /v1/archive).",
    )
    weather_start_date: date | None = Field(
        None,
        description="First day the weather flow fetches for a location with no weather yet. "
        "Default: 1 January of the earliest harvest year of the enclosures.",
    )
    weather_timezone: str = Field(
        "Europe/Madrid",
        description="Time zone of the daily weather (Open-Meteo's timezone parameter) and of "
        "'yesterday', the last day fetched.",
    )
    ndvi_url: str | None = Field(
        None,
        description="Teledetection NDVI endpoint (POST {operation, initdate, enddate, id}); "
        "unset: the NDVI flow has nothing to call.",
    )
    ndvi_token: SecretStr | None = Field(
        None, description="Token of the NDVI service, sent as 'Authorization: Bearer <token>'."
    )
    ndvi_operation: str = Field("ndvi", description="The 'operation' the NDVI service is asked.")
    ndvi_start_date: date | None = Field(
        None,
        description="First day the NDVI flow asks for an enclosure with no NDVI yet. "
        "Default: 1 January of the earliest harvest year of the enclosures.",
    )
    api_batch_size: int = Field(
        20, gt=0, description="API requests per batch; the flows pause between batches."
    )
    api_batch_pause_seconds: float = Field(
        1.0, ge=0, description="Pause between two batches of API requests."
    )
    api_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one API request.")
    api_max_attempts: int = Field(
        3, ge=1, description="Attempts per API request on timeouts, 429 and 5xx answers."
    )
    api_backoff_seconds: float = Field(
        1.0,
        ge=0,
        description="Wait before the second attempt; doubled for each later one (capped at "
        "60 s). A Retry-After header asking for longer is honoured up to 60 s.",
    )
    season_start: str = Field(
        "03-01",
        description="First day (MM-DD) of the growing season of a harvest year, for the "
        "digital twin's weather and NDVI aggregates.",
    )
    season_end: str = Field(
        "10-31",
        description="Last day (MM-DD) of the growing season. Before season_start: the season "
        "starts in the year before the harvest.",
    )
    ui_token: SecretStr | None = Field(
        None,
        description="Token of the lake browser (`agrolake ui`): required to listen on an "
        "address other than loopback; when set, every request must bring it as "
        "'Authorization: Bearer <token>' or log in once with the form (an HttpOnly cookie).",
    )
    # Reader bounds (docs/limits.md): checked before a reader allocates; a landing file
    # over one is rejected with the code in brackets.
    max_columns: int = Field(
        4096,
        gt=0,
        description="Most columns a table of a landing file may have [too_many_columns].",
    )
    max_cells: int = Field(
        100_000_000,
        gt=0,
        description="Most rows × columns of a CSV, JSON or Parquet file: trusted holds up to "
        "4 bytes a cell of a file's columns [too_many_cells].",
    )
    max_line_kb: int = Field(
        1024, ge=64, description="Longest line of a text file, in KiB [line_too_long]."
    )
    max_workbook_cells: int = Field(
        5_000_000,
        gt=0,
        description="Most cells a sheet may span (rows × columns between its first and last "
        "cell): the workbook reader allocates about 100 bytes for each [workbook_too_large].",
    )
    max_uncompressed_mb: float = Field(
        1024.0,
        gt=0,
        description="Most bytes a workbook inflates to, or a Parquet file's data "
        "uncompressed, in MB [uncompressed_too_large].",
    )
    max_shared_strings_mb: float = Field(
        100.0,
        gt=0,
        description="Largest shared-strings part of a workbook, inflated, in MB: read whole "
        "into memory [shared_strings_too_large].",
    )
    max_zip_ratio: float = Field(
        100.0,
        gt=1,
        description="Most a workbook part over 1 MiB may inflate, as a multiple of its "
        "compressed size [zip_bomb].",
    )
    max_json_mb: float = Field(
        64.0,
        gt=0,
        description="Largest JSON file, in MB: parsed whole, it takes about 7 times its size "
        "in memory [json_too_large].",
    )
    max_row_group_mb: float = Field(
        256.0,
        gt=0,
        description="Largest row group of a Parquet file, uncompressed, in MB: a reader holds "
        "one whole [row_group_too_large].",
    )
    reader_memory_mb: int = Field(
        1024,
        ge=384,
        description="Address space of the child process that parses workbooks (xlsx, xls), "
        "in MB; a workbook that needs more is rejected [reader_memory_exceeded].",
    )
    reader_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="Longest a workbook may take to parse before its reader is stopped "
        "[reader_timeout].",
    )

    @field_validator("storage_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlparse(value).scheme
        if scheme not in ("", "file", "s3"):
            raise ValueError(
                f"storage URL scheme {scheme!r} is not supported; use a folder or s3://"
            )
        if scheme == "s3" and urlparse(value).netloc:
            raise ValueError(
                "give s3:// alone: bucket names come from AGROLAKE_BUCKET_LANDING and friends"
            )
        return value

    @field_validator("season_start", "season_end")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            month, _, day = value.strip().partition("-")
            parsed = date(2001, int(month), int(day))  # not a leap year: no 02-29
        except ValueError:
            raise ValueError(
                f"{value!r} is not a day of the year as MM-DD (e.g. 03-01; 02-29 is refused)"
            ) from None
        return parsed.strftime("%m-%d")

    @property
    def uses_s3(self) -> bool:
        return bool(self.storage_url and self.storage_url.startswith("s3:"))

    @property
    def lake_folder(self) -> Path:
        """The folder holding one sub-folder per zone bucket (embedded profile)."""
        if self.storage_url and not self.uses_s3:
            parsed = urlparse(self.storage_url)
            return Path(parsed.path if parsed.scheme == "file" else self.storage_url).resolve()
        return (self.home / "lake").resolve()

    @property
    def catalog(self) -> str:
        """The catalog URL, defaulting to SQLite under the home."""
        return self.catalog_url or f"sqlite:///{(self.home / 'catalog.db').resolve()}"

    @property
    def declarations(self) -> str:
        """The folder (or s3:// prefix) of the dataset declaration files."""
        return self.datasets_dir or str((self.home / "datasets").resolve())

    @property
    def s3(self) -> S3Credentials:
        return S3Credentials(
            self.s3_endpoint_url,
            self.s3_access_key_id,
            self.s3_secret_access_key,
            self.s3_region,
            retry_seconds=self.storage_timeout_seconds,
        )

    @property
    def tracking_uri(self) -> str:
        """Where MLflow runs and models are recorded."""
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def embedded_tracking(self) -> bool:
        return self.mlflow_tracking_uri is None

    @property
    def artifacts_folder(self) -> Path:
        """Artifacts of the embedded tracking store (no server)."""
        return (self.home / "mlartifacts").resolve()

    @property
    def retrain_on_run(self) -> bool:
        return self.embedded_tracking if self.train_on_run is None else self.train_on_run

    def bucket(self, zone: Zone) -> str:
        return str(getattr(self, f"bucket_{zone}"))

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one readable line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"AGROLAKE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


class NotificationSettings(BaseSettings):
    """Where failure notices go; read apart from :class:`Settings` so that a run that
    failed because of a bad lake setting can still report it."""

    model_config = SettingsConfigDict(
        env_prefix="AGROLAKE_", env_file=".env", extra="ignore", frozen=True
    )

    notify_webhook_url: SecretStr | None = Field(
        None,
        description="Failed flow runs POST a JSON notice here (Slack/Mattermost-style "
        '"text" plus flow, reason and run URL). A secret: such URLs carry their token.',
    )
    notify_email_to: str | None = Field(
        None, description="Failed flow runs are also mailed to these comma-separated addresses."
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server for failure emails.")
    smtp_port: int = Field(25, gt=0, description="SMTP port (587 with STARTTLS, 25 plain).")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_from: str = Field("agrolake@localhost", description="Sender of failure emails.")

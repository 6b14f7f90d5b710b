"""One object store API over the zone buckets, local folder or S3 alike.

The local folder and S3 differ only in how a bucket's store is built; every
operation below is the same code for both (obstore is the engine, the same one
delta-rs and polars use).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import obstore
from obstore import exceptions as obs_errors
from obstore.store import LocalStore, S3Store

from agrolake.errors import ObjectExists, ObjectNotFound, StorageError, StorageUnavailable
from agrolake.lake.settings import ZONES, Settings, Zone
from agrolake.lake.spool import spool as spool_folder

Payload = bytes | Path | IO[bytes]


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or a head tells about one object."""

    key: str
    size: int
    last_modified: datetime
    etag: str | None

    @property
    def version(self) -> str:
        """Identifies this write of the key: a new upload under the same key differs.

        S3 ETags are content hashes, so the same bytes uploaded again (a replay)
        would look unchanged without the modification time.
        """
        return f"{self.etag or self.size}@{self.last_modified.isoformat()}"


def _info(meta: Mapping[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        key=str(meta["path"]),
        size=int(meta["size"]),
        last_modified=meta["last_modified"],
        etag=meta.get("e_tag"),
    )


class ObjectStore:
    """The zone buckets of one lake, addressed as ``(zone, key)``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stores: dict[str, Any] = {}

    @property
    def is_s3(self) -> bool:
        return self._settings.uses_s3

    def describe_endpoint(self) -> str:
        """The S3 endpoint (or AWS's) or the local folder, for messages."""
        if not self.is_s3:
            return str(self._settings.lake_folder)
        return self._settings.s3.endpoint_url or f"AWS S3 ({self._settings.s3.region})"

    def describe(self, zone: Zone, key: str = "") -> str:
        """A human address of an object, for messages (never with credentials)."""
        prefix = "s3://" if self.is_s3 else f"{self._settings.lake_folder}/"
        return f"{prefix}{self._settings.bucket(zone)}/{key}"

    def _store(self, zone: Zone) -> Any:
        bucket = self._settings.bucket(zone)
        if bucket not in self._stores:
            if self.is_s3:
                self._stores[bucket] = S3Store(bucket, **self._settings.s3.to_obstore())
            else:
                folder = self._settings.lake_folder / bucket
                folder.mkdir(parents=True, exist_ok=True)
                self._stores[bucket] = LocalStore(folder)
        return self._stores[bucket]

    @contextmanager
    def _translated(self, action: str, zone: Zone, key: str) -> Iterator[None]:
        where = self.describe(zone, key)
        try:
            yield
        except (obs_errors.NotFoundError, FileNotFoundError) as exc:
            raise ObjectNotFound(f"{action} {where}: no such object", zone=zone, key=key) from exc
        except (
            obs_errors.AlreadyExistsError,
            obs_errors.PreconditionError,
            FileExistsError,
        ) as exc:
            raise ObjectExists(
                f"{action} {where}: an object exists there", zone=zone, key=key
            ) from exc
        except (obs_errors.PermissionDeniedError, obs_errors.UnauthenticatedError) as exc:
            raise StorageError(
                f"{action} {where}: access denied; check AGROLAKE_S3_ACCESS_KEY_ID and "
                "AGROLAKE_S3_SECRET_ACCESS_KEY",
                zone=zone,
                key=key,
            ) from exc
        except (obs_errors.InvalidPathError, ValueError) as exc:  # ValueError: unparsable key
            raise StorageError(f"{action} {where}: invalid key", zone=zone, key=key) from exc
        except (obs_errors.BaseError, OSError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StorageUnavailable(f"{action} {where}: {detail}", zone=zone, key=key) from exc

    # -- buckets ---------------------------------------------------------------

    def ensure_buckets(self, extra: tuple[str, ...] = ()) -> list[str]:
        """Create the zone buckets (and ``extra`` ones) that do not exist; idempotent."""
        buckets = [self._settings.bucket(z) for z in ZONES] + list(extra)
        if not self.is_s3:
            for bucket in buckets:
                (self._settings.lake_folder / bucket).mkdir(parents=True, exist_ok=True)
            return buckets
        # obstore cannot create buckets; boto3 is the standard client for that one call.
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", **self._settings.s3.to_boto3())
        for bucket in buckets:
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    where = self.describe_endpoint()
                    raise StorageError(
                        f"cannot create bucket {bucket} at {where}: {code or exc}"
                    ) from exc
            except BotoCoreError as exc:
                where = self.describe_endpoint()
                raise StorageUnavailable(
                    f"cannot create bucket {bucket} at {where}: {exc}"
                ) from exc
        return buckets

    # -- objects ---------------------------------------------------------------

    def put(
        self,
        zone: Zone,
        key: str,
        data: Payload,
        *,
        create_only: bool = False,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Write an object atomically; ``create_only`` fails with ObjectExists if taken.

        Metadata and tags are written where the backend keeps them (S3); the
        catalog holds the same facts for every backend.
        """
        options: dict[str, Any] = {"mode": "create" if create_only else "overwrite"}
        if self.is_s3:
            attributes: dict[str, str] = {}
            if content_type:
                attributes["Content-Type"] = content_type
            # S3 metadata travels in HTTP headers: ASCII only, so values are %-encoded.
            attributes.update({k: quote(v, safe=" /:@.,-_=+") for k, v in (metadata or {}).items()})
            options["attributes"] = attributes or None
            options["tags"] = dict(tags) if tags else None
        with self._translated("write", zone, key):
            obstore.put(self._store(zone), key, data, **options)

    def stream(self, zone: Zone, key: str, chunk_size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        """The object's bytes, in chunks, without holding it whole in memory."""
        with self._translated("read", zone, key):
            result = obstore.get(self._store(zone), key)
            for chunk in result.stream(min_chunk_size=chunk_size):
                yield bytes(chunk)

    def read(self, zone: Zone, key: str) -> bytes:
        with self._translated("read", zone, key):
            return bytes(obstore.get(self._store(zone), key).bytes())

    def head(self, zone: Zone, key: str) -> ObjectInfo:
        with self._translated("inspect", zone, key):
            return _info(obstore.head(self._store(zone), key))

    def exists(self, zone: Zone, key: str) -> bool:
        try:
            self.head(zone, key)
        except ObjectNotFound:
            return False
        return True

    def list(self, zone: Zone, prefix: str | None = None) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, in the store's order."""
        with self._translated("list", zone, prefix or ""):
            for batch in obstore.list(self._store(zone), prefix=prefix, chunk_size=1000):
                for meta in batch:
                    yield _info(meta)

    def raw_keys(self, zone: Zone) -> Iterator[str]:
        """Every key of a zone as the store spells it, even ones obstore cannot address
        (control characters, empty segments): S3 through boto3, a folder through the
        file system (links are not followed out of it)."""
        if not self.is_s3:
            root = self._settings.lake_folder / self._settings.bucket(zone)
            for folder, _, files in os.walk(root):
                for name in files:
                    yield (Path(folder) / name).relative_to(root).as_posix()
            return
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", **self._settings.s3.to_boto3())
        try:
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=self._settings.bucket(zone)
            ):
                for item in page.get("Contents", []):
                    yield str(item["Key"])
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"list {self.describe(zone)}: {exc}") from exc

    def addressable(self, zone: Zone, key: str) -> ObjectInfo | None:
        """The object if obstore can address its key, else None (it stays as it is)."""
        try:
            return _info(obstore.head(self._store(zone), key))
        except (obs_errors.InvalidPathError, ValueError):
            return None
        except (obs_errors.NotFoundError, FileNotFoundError):
            return None

    def copy(
        self, zone: Zone, key: str, to_zone: Zone, to_key: str, *, create_only: bool = False
    ) -> None:
        """Copy an object; inside one bucket the server copies, across buckets it streams.

        S3 has no copy-if-absent, so a create-only copy streams through a
        create-only put (If-None-Match) instead of a server-side copy.
        """
        same_bucket = self._settings.bucket(zone) == self._settings.bucket(to_zone)
        if same_bucket and not (create_only and self.is_s3):
            with self._translated("copy", zone, key):
                obstore.copy(self._store(zone), key, to_key, overwrite=not create_only)
            return
        # obstore cannot consume one of its own streams inside a put (nested runtimes),
        # so the bytes pass through a spool file: constant memory for any size.
        with spool_folder("copy") as folder:
            spool = Path(folder) / "object"
            with spool.open("wb") as out:
                for chunk in self.stream(zone, key):
                    out.write(chunk)
            self.put(to_zone, to_key, spool, create_only=create_only)

    def delete(self, zone: Zone, key: str) -> None:
        """Delete an object; deleting a missing object is not an error (as on S3)."""
        with suppress(ObjectNotFound), self._translated("delete", zone, key):
            obstore.delete(self._store(zone), key)

    def delete_all(self, zone: Zone) -> None:
        """Empty a zone (tests and demos); local buckets are removed from disk."""
        if not self.is_s3:
            shutil.rmtree(
                self._settings.lake_folder / self._settings.bucket(zone), ignore_errors=True
            )
            self._stores.pop(self._settings.bucket(zone), None)
            return
        for info in list(self.list(zone)):
            self.delete(zone, info.key)

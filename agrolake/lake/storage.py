"""One object store API over the zone buckets, local folder or S3 alike.

The local folder and S3 differ only in how a bucket's store is built; every
operation below is the same code for both (obstore is the engine, the same one
delta-rs and polars use).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import obstore
from obstore import exceptions as obs_errors
from obstore.store import LocalStore, S3Store

from agrolake.errors import (
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageRefused,
    StorageUnavailable,
)
from agrolake.lake.private_files import private_folder
from agrolake.lake.settings import ZONES, Settings, Zone
from agrolake.lake.spool import spool as spool_folder

Payload = bytes | Path | IO[bytes]

# The S3 error code in an error body (obstore and delta-rs keep the body in the message).
_S3_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")
_WRONG_KEY = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"})
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled"})
_INSTANCE_METADATA = "169.254.169.254"


def endpoint_of(settings: Settings) -> str:
    """The S3 endpoint (or AWS's) or the local folder, for messages."""
    if not settings.uses_s3:
        return str(settings.lake_folder)
    return settings.s3.endpoint_url or f"AWS S3 ({settings.s3.region})"


def refusal(
    error: BaseException | str, what: str, bucket: str, endpoint: str
) -> StorageRefused | None:
    """The error as the set-up's problem (a missing bucket, a refused key), else None.

    ``what`` says what was tried (``write s3://landing-zone/x.csv``). Such an error is
    the same for every file, so it stops a run; and a missing bucket is not a missing
    object (S3 answers 404 to both).
    """
    found = _S3_CODE.search(str(error))
    code = found.group(1) if found else None
    if _INSTANCE_METADATA in str(error):
        # With no key set, the S3 client asks a cloud instance's metadata service for one.
        return StorageRefused(
            f"{what}: {endpoint}: no S3 key: AGROLAKE_S3_ACCESS_KEY_ID and "
            "AGROLAKE_S3_SECRET_ACCESS_KEY are not set, and this machine's instance metadata "
            "gave none",
            bucket=bucket,
        )
    if code == "NoSuchBucket":
        return StorageRefused(
            f"{what}: there is no bucket {bucket} at {endpoint}; `agrolake init` creates "
            "the buckets (with a key that may create them)",
            bucket=bucket,
        )
    if code in _DENIED:
        return StorageRefused(
            f"{what}: access denied: this key's policy does not allow it (docs/security.md "
            "says what each role's key needs)",
            bucket=bucket,
        )
    if code in _WRONG_KEY:
        return StorageRefused(
            f"{what}: the store does not accept this key ({code}); check "
            "AGROLAKE_S3_ACCESS_KEY_ID and AGROLAKE_S3_SECRET_ACCESS_KEY",
            bucket=bucket,
        )
    return None


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

    @cached_property
    def _folder(self) -> Path:
        """The local lake's folder, resolved once (a resolve is a syscall per part)."""
        return self._settings.lake_folder

    @property
    def is_s3(self) -> bool:
        return self._settings.uses_s3

    @property
    def concurrency(self) -> int:
        """How many requests a batch overlaps: S3 waits on round trips, which threads
        overlap; a local folder answers in microseconds, where threads only add their cost
        (measured: landing 1.75 ms a small file on one thread, 2.4 ms on eight)."""
        return self._settings.io_threads if self.is_s3 else 1

    def describe_endpoint(self) -> str:
        """The S3 endpoint (or AWS's) or the local folder, for messages."""
        return endpoint_of(self._settings)

    def local_path(self, zone: Zone, key: str) -> Path:
        """Where an object of the local backend is on disk (not for S3)."""
        return self._folder / self._settings.bucket(zone) / key

    def describe(self, zone: Zone, key: str = "") -> str:
        """A human address of an object, for messages (never with credentials)."""
        prefix = "s3://" if self.is_s3 else f"{self._folder}/"
        return f"{prefix}{self._settings.bucket(zone)}/{key}"

    def _store(self, zone: Zone) -> Any:
        bucket = self._settings.bucket(zone)
        if bucket not in self._stores:
            if self.is_s3:
                self._stores[bucket] = S3Store(bucket, **self._settings.s3.to_obstore())
            else:
                # The local folder is the user's own: its buckets are made as needed.
                self._stores[bucket] = LocalStore(private_folder(self._folder / bucket))
        return self._stores[bucket]

    @contextmanager
    def _translated(self, action: str, zone: Zone, key: str) -> Iterator[None]:
        def what() -> str:  # built only for a message: describing resolves the folder
            return f"{action} {self.describe(zone, key)}"

        try:
            try:
                yield
            except (obs_errors.BaseError, OSError) as exc:
                bucket = self._settings.bucket(zone)
                refused = refusal(exc, what(), bucket, self.describe_endpoint())
                if refused is not None:
                    raise refused from exc
                raise
        except (obs_errors.NotFoundError, FileNotFoundError) as exc:
            raise ObjectNotFound(f"{what()}: no such object", zone=zone, key=key) from exc
        except (
            obs_errors.AlreadyExistsError,
            obs_errors.PreconditionError,
            FileExistsError,
        ) as exc:
            raise ObjectExists(f"{what()}: an object exists there", zone=zone, key=key) from exc
        except (obs_errors.PermissionDeniedError, obs_errors.UnauthenticatedError) as exc:
            # A refusal without a body to name it (HEAD): the key, or its policy.
            raise StorageRefused(
                f"{what()}: access denied; check AGROLAKE_S3_ACCESS_KEY_ID and "
                "AGROLAKE_S3_SECRET_ACCESS_KEY, and the key's policy (docs/security.md)",
                zone=zone,
                key=key,
            ) from exc
        except (obs_errors.InvalidPathError, ValueError) as exc:  # ValueError: unparsable key
            raise StorageError(f"{what()}: invalid key", zone=zone, key=key) from exc
        except (obs_errors.BaseError, OSError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            endpoint = self.describe_endpoint()
            if "error sending request" in detail:  # the client's words for no connection
                detail = f"{endpoint}: the S3 server does not answer (after the client's retries)"
            elif endpoint not in detail:  # e.g. credentials fetched from somewhere else
                detail = f"{endpoint}: {detail}"
            raise StorageUnavailable(f"{what()}: {detail}", zone=zone, key=key) from exc

    # -- buckets ---------------------------------------------------------------

    def ensure_buckets(self, extra: tuple[str, ...] = ()) -> list[str]:
        """Create the zone buckets (and ``extra`` ones) that do not exist; idempotent.

        Only ``agrolake init`` calls this: every other command works with a key limited
        to its role (docs/security.md), which may not create buckets. A bucket that
        exists is left alone, so ``init`` on a lake set up by an administrator needs no
        right to create one.
        """
        buckets = [self._settings.bucket(z) for z in ZONES] + list(extra)
        if not self.is_s3:
            for bucket in buckets:
                private_folder(self._folder / bucket)
            return buckets
        # obstore cannot create buckets; boto3 is the standard client for that one call.
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", **self._settings.s3.to_boto3())
        where = self.describe_endpoint()
        for bucket in buckets:
            try:
                client.head_bucket(Bucket=bucket)
                continue
            except ClientError:
                pass  # missing (404), or this key may not look (403): try to create it
            except BotoCoreError as exc:
                raise StorageUnavailable(f"cannot reach {where}: {exc}") from exc
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    continue
                if code in _DENIED:
                    raise StorageRefused(
                        f"cannot create bucket {bucket} at {where}: access denied; "
                        "`agrolake init` needs a key that may create buckets (an "
                        "administrator's), the other commands do not (docs/security.md)",
                        bucket=bucket,
                    ) from exc
                raise StorageError(
                    f"cannot create bucket {bucket} at {where}: {code or exc}"
                ) from exc
            except BotoCoreError as exc:
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
        bucket = self._settings.bucket(zone)
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    yield str(item["Key"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            what = f"list {self.describe(zone)}"
            refused = refusal(f"<Code>{code}</Code>", what, bucket, self.describe_endpoint())
            raise refused or StorageUnavailable(f"{what}: {exc}") from exc
        except BotoCoreError as exc:
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

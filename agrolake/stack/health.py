"""Is a service working? One check per kind of service, each a few seconds at most."""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from agrolake.stack.identities import Role
from agrolake.stack.programs import Program, StackConfig

_TIMEOUT = 3.0
#: The bucket of the S3 check's probe objects (never a zone: nothing watches it).
PROBE_BUCKET = "agrolake-stack-probe"


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: str = ""


def check(program: Program, config: StackConfig, state: str) -> Health:
    """The health of ``program`` whose supervisord state is ``state`` (RUNNING, ...)."""
    if state != "RUNNING":
        return Health(False, state.lower())
    try:
        if program.health == "http":
            return _http(f"{program.url}{program.health_path}")
        if program.health == "postgres":
            return _postgres(config)
        if program.health == "s3":
            return _s3(config)
    except Exception as exc:  # a check reports; it never stops the command asking
        return Health(False, _reason(exc))
    return Health(True)


def _http(url: str) -> Health:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            return Health(response.status == 200)
    except urllib.error.HTTPError as exc:
        # The model server answers 503 while it waits for a first champion: it works.
        body = _json(exc.read())
        if exc.code == 503 and body.get("status") == "waiting":
            return Health(True, str(body.get("message", "waiting")))
        return Health(False, f"HTTP {exc.code}")


def _json(body: bytes) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        found = json.loads(body)
        if isinstance(found, dict):
            return found
    return {}


def _postgres(config: StackConfig) -> Health:
    from agrolake.stack.preparation import connect_postgres

    with connect_postgres(config.catalog_url, _TIMEOUT) as connection:
        connection.execute("SELECT 1")
    return Health(True)


def _s3(config: StackConfig) -> Health:
    """A write, read and delete through the S3 gateway, filer and volume: a listing
    alone answers while object writes still fail (volumes not registered yet). The probe
    bucket stays: in SeaweedFS each new bucket allocates volumes of its own.

    It runs in ``agrolake stack`` (up, status), never in a service, with the
    administrator's key: it creates its bucket when missing, and no role's key may touch
    a bucket that is not the lake's."""
    client = s3_client(config, "admin")
    bucket = PROBE_BUCKET
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    key = f"probe-{secrets.token_hex(4)}"
    client.put_object(Bucket=bucket, Key=key, Body=b"ok")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.delete_object(Bucket=bucket, Key=key)
    return Health(body == b"ok", "" if body == b"ok" else "probe object read back wrong")


def s3_client(config: StackConfig, role: Role) -> Any:
    import boto3
    from botocore.config import Config

    key = config.s3_keys[role]
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.s3_endpoint_url,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        region_name=config.s3_region,
        config=Config(
            connect_timeout=_TIMEOUT,
            read_timeout=_TIMEOUT,
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """``python -m agrolake.stack.health URL``: exit code 0 when the URL answers as a
    healthy service does (the compose file's health checks: its images have no curl)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agrolake.stack.health URL", file=sys.stderr)
        return 2
    try:
        health = _http(args[0])
    except OSError as exc:
        health = Health(False, _reason(exc))
    print(("healthy" if health.healthy else "unhealthy") + _suffix(health.detail))
    return 0 if health.healthy else 1


def _suffix(detail: str) -> str:
    return f": {detail}" if detail else ""


if __name__ == "__main__":
    sys.exit(main())

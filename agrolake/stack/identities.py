"""A key per role, and what each role's key may do on S3 (docs/security.md).

The one definition of the roles' rights: the ``-s3.config`` file ``agrolake stack`` starts
SeaweedFS with, ``agrolake stack s3-config`` (the same file for the compose file and the
systemd units) and the documents of docs/security.md, which a test compares with what
this module writes (and another runs on a SeaweedFS enforcing them).

Roles: the **admin** sets the lake up (``agrolake init`` creates buckets; the stack's
health probe keeps a bucket of its own); the **uploader** puts into landing; the
**worker** reads, lists, writes and deletes in the zones and MLflow's bucket; the
**reader** reads and lists trusted and refined.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agrolake.errors import ConfigError
from agrolake.lake.private_files import write_private
from agrolake.lake.settings import ZONES, Settings

Role = Literal["admin", "uploader", "worker", "reader"]
ROLES: tuple[Role, ...] = ("admin", "uploader", "worker", "reader")
#: The IAM policy SeaweedFS's put-only uploader is named after (``policyNames``).
UPLOADER_POLICY = "agrolake-uploader"
_ADMIN_ACTIONS = ["Admin", "Read", "List", "Tagging", "Write"]
_WORKER_OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:PutObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


@dataclass(frozen=True)
class S3Key:
    access_key_id: str
    secret_access_key: str

    @classmethod
    def generate(cls) -> S3Key:
        # AWS's shapes (a 20-character id, a 40-character secret): every client takes them.
        return cls("AK" + secrets.token_hex(9).upper(), secrets.token_hex(20))


def bucket_names(settings: Settings) -> dict[str, str]:
    """The buckets the roles' rights name: each zone's and MLflow's (``mlflow``)."""
    return {zone: settings.bucket(zone) for zone in ZONES} | {"mlflow": settings.bucket_mlflow}


def _worker_buckets(buckets: Mapping[str, str]) -> list[str]:
    return [buckets[zone] for zone in (*ZONES, "mlflow")]


def _reader_buckets(buckets: Mapping[str, str]) -> list[str]:
    return [buckets["trusted"], buckets["refined"]]


def seaweedfs_actions(role: Role, buckets: Mapping[str, str]) -> list[str]:
    """The role's SeaweedFS actions (``Action`` or ``Action:bucket``)."""
    if role == "admin":
        return list(_ADMIN_ACTIONS)
    if role == "uploader":
        return [f"Write:{buckets['landing']}"]
    if role == "worker":
        return [f"{a}:{b}" for b in _worker_buckets(buckets) for a in ("Read", "List", "Write")]
    return [f"{a}:{b}" for b in _reader_buckets(buckets) for a in ("Read", "List")]


def iam_policy(role: Role, buckets: Mapping[str, str]) -> dict[str, Any]:
    """The role's rights as an IAM policy document (AWS, MinIO, SeaweedFS's ``policies``).
    The admin has none of its own: the worker's plus ``s3:CreateBucket``."""

    def arns(names: list[str], objects: bool) -> list[str]:
        return [f"arn:aws:s3:::{name}{'/*' if objects else ''}" for name in names]

    def allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}

    if role == "uploader":
        statements = [allow("PutIntoLanding", ["s3:PutObject"], arns([buckets["landing"]], True))]
    elif role == "worker":
        names = _worker_buckets(buckets)
        statements = [
            allow("ListTheZones", ["s3:ListBucket"], arns(names, False)),
            allow("ObjectsOfTheZones", list(_WORKER_OBJECT_ACTIONS), arns(names, True)),
        ]
    elif role == "reader":
        names = _reader_buckets(buckets)
        statements = [
            allow("ListTrustedAndRefined", ["s3:ListBucket"], arns(names, False)),
            allow("ReadTrustedAndRefined", ["s3:GetObject"], arns(names, True)),
        ]
    else:
        raise ValueError(f"no IAM policy of its own for the {role} role")
    return {"Version": "2012-10-17", "Statement": statements}


def seaweedfs_identity(
    role: Role, key: S3Key, buckets: Mapping[str, str], *, put_only: bool = False
) -> dict[str, Any]:
    """One identity of SeaweedFS's ``-s3.config``; ``put_only``: the uploader by its IAM
    policy (:data:`UPLOADER_POLICY`, in the file's ``policies``) instead of its actions."""
    identity: dict[str, Any] = {
        "name": role,
        "credentials": [{"accessKey": key.access_key_id, "secretKey": key.secret_access_key}],
    }
    if put_only:
        if role != "uploader":
            raise ValueError("only the uploader has a put-only form")
        identity["policyNames"] = [UPLOADER_POLICY]
    else:
        identity["actions"] = seaweedfs_actions(role, buckets)
    return identity


def seaweedfs_config(keys: Mapping[Role, S3Key], buckets: Mapping[str, str]) -> dict[str, Any]:
    """The stack's ``-s3.config``: every role, the uploader put-only: SeaweedFS's
    ``Write:<bucket>`` would also let it delete pending files, ``s3:PutObject`` only puts."""
    return {
        "identities": [
            seaweedfs_identity(role, keys[role], buckets, put_only=role == "uploader")
            for role in ROLES
        ],
        "policies": [{"name": UPLOADER_POLICY, "document": iam_policy("uploader", buckets)}],
    }


def write_seaweedfs_config(
    path: Path, keys: Mapping[Role, S3Key], buckets: Mapping[str, str]
) -> None:
    """Write :func:`seaweedfs_config` to ``path``, readable by its owner only (secrets)."""
    write_private(path, json.dumps(seaweedfs_config(keys, buckets), indent=2) + "\n")


def key_variables(role: Role) -> tuple[str, str]:
    """The variables the deployment files hold a role's key in (``S3_WORKER_ACCESS_KEY_ID``,
    ``S3_WORKER_SECRET_ACCESS_KEY``…). Not ``AGROLAKE_*``: no setting reads them, and
    agrolake warns about an ``AGROLAKE_*`` name that is not a setting."""
    prefix = f"S3_{role.upper()}_"
    return prefix + "ACCESS_KEY_ID", prefix + "SECRET_ACCESS_KEY"


def keys_from_environment(environ: Mapping[str, str]) -> dict[Role, S3Key]:
    """Every role's key from :func:`key_variables`; ConfigError naming what is missing."""
    missing = [name for role in ROLES for name in key_variables(role) if not environ.get(name)]
    if missing:
        raise ConfigError(f"set {', '.join(missing)}: SeaweedFS wants a key for every role")
    return {role: S3Key(*(environ[name] for name in key_variables(role))) for role in ROLES}

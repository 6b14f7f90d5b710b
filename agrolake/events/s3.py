"""S3 event notifications (the AWS JSON that MinIO webhook targets send), read strictly.

An event is only a wake-up signal for the landing flow, which lists the landing
zone itself; this module decides whether a notification names a new object a
user put in landing. agrolake's own writes there (rejected files and their
reasons under ``invalid/``) and deletions (the flow removes what it moved) must
not wake the flow again, or every run would schedule the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from agrolake.errors import UsageError
from agrolake.lake.naming import is_pending_landing_key


class MalformedEvent(UsageError):
    """The body is not an S3 event notification."""


@dataclass(frozen=True)
class S3Event:
    name: str  # s3:ObjectCreated:Put (MinIO) or ObjectCreated:Put (AWS)
    bucket: str
    key: str  # decoded: S3 sends keys URL-encoded, spaces as "+"

    @property
    def created(self) -> bool:
        return self.name.removeprefix("s3:").startswith("ObjectCreated:")


def parse_notification(body: Any) -> list[S3Event]:
    """The records of one notification body (already parsed JSON).

    Raises ``MalformedEvent`` with the first thing that is wrong. A body with an
    empty ``Records`` list is valid (S3 sends ``s3:TestEvent`` bodies without one).
    """
    if not isinstance(body, dict):
        raise MalformedEvent("an S3 event notification is a JSON object")
    if "Records" not in body:
        if body.get("Event") == "s3:TestEvent":
            return []
        raise MalformedEvent("an S3 event notification has a Records list")
    records = body["Records"]
    if not isinstance(records, list):
        raise MalformedEvent("Records must be a list")
    return [_record(i, record) for i, record in enumerate(records)]


def _record(index: int, record: Any) -> S3Event:
    try:
        name = record["eventName"]
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
    except (KeyError, TypeError):
        raise MalformedEvent(
            f"Records[{index}] lacks eventName, s3.bucket.name or s3.object.key"
        ) from None
    if not all(isinstance(value, str) and value for value in (name, bucket, key)):
        raise MalformedEvent(f"Records[{index}]: eventName, bucket and key must be text")
    return S3Event(name=name, bucket=bucket, key=unquote_plus(key))


def wakes_landing(events: list[S3Event], landing_bucket: str) -> bool:
    """Whether any event is a user's new object in the landing zone."""
    return any(
        event.created and event.bucket == landing_bucket and is_pending_landing_key(event.key)
        for event in events
    )

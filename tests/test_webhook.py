"""The S3 event receiver: strict parsing, bearer auth, and bursts coalesced into few wakes."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette nudges towards httpx2, which we do not use
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from agrolake.events.receiver import Coalescer, Counters, create_app
from agrolake.events.s3 import MalformedEvent, parse_notification, wakes_landing

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def notification(bucket: str, key: str, event: str = "s3:ObjectCreated:Put") -> dict[str, Any]:
    """A MinIO webhook body: the AWS S3 event structure, the key URL-encoded."""
    from urllib.parse import quote_plus

    return {
        "EventName": event,
        "Key": f"{bucket}/{key}",
        "Records": [
            {
                "eventVersion": "2.0",
                "eventSource": "minio:s3",
                "awsRegion": "",
                "eventTime": "2026-11-26T06:40:00.000Z",
                "eventName": event,
                "userIdentity": {"principalId": "agrolake"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "Config",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": 120, "eTag": "abc"},
                },
            }
        ],
    }


def test_keys_are_decoded_and_only_user_uploads_to_landing_wake() -> None:
    events = parse_notification(notification("landing-zone", "lab 2024/vino tinto+.csv"))
    assert [e.key for e in events] == ["lab 2024/vino tinto+.csv"]
    assert wakes_landing(events, "landing-zone")
    assert not wakes_landing(events, "other-landing")
    own_write = parse_notification(notification("landing-zone", "invalid/2026-11-26/x.csv"))
    assert not wakes_landing(own_write, "landing-zone")
    deleted = parse_notification(
        notification("landing-zone", "a.csv", event="s3:ObjectRemoved:Delete")
    )
    assert not wakes_landing(deleted, "landing-zone")
    folder = parse_notification(notification("landing-zone", "erp/"))
    assert not wakes_landing(folder, "landing-zone")
    aws_style = notification("landing-zone", "a.csv", event="ObjectCreated:Put")
    assert wakes_landing(parse_notification(aws_style), "landing-zone")
    assert parse_notification({"Event": "s3:TestEvent", "Bucket": "landing-zone"}) == []


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Records": "x"},
        {"Records": [{"eventName": "s3:ObjectCreated:Put"}]},
        {"Records": [{"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}}]},
        {"Records": [{"eventName": 3, "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]},
        {"something": "else"},
    ],
)
def test_malformed_notifications_are_refused_with_a_reason(body: Any) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_notification(body)
    assert caught.value.message and "\n" not in caught.value.message


class RecordingWake:
    def __init__(self, seconds: float = 0.0) -> None:
        self.calls = 0
        self.seconds = seconds

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.sleep(self.seconds)


def test_receiver_rejects_bad_tokens_and_bodies_with_4xx() -> None:
    wake = RecordingWake()
    with TestClient(create_app(TOKEN, "landing-zone", wake)) as client:
        body = json.dumps(notification("landing-zone", "a.csv"))
        assert client.post("/s3-events", content=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/s3-events", content=body, headers=wrong).status_code == 401
        basic = {"Authorization": f"Basic {TOKEN}"}
        assert client.post("/s3-events", content=body, headers=basic).status_code == 401
        for bad in (b"{not json", b"\xff\xfe", b'{"Records": [1]}', b"[]"):
            answer = client.post("/s3-events", content=bad, headers=AUTH)
            assert answer.status_code == 400
            assert answer.json()["error"]
        huge = b'{"Records": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        assert client.post("/s3-events", content=huge, headers=AUTH).status_code == 413

        def chunks() -> Any:  # chunked transfer: no Content-Length to check up front
            yield b'{"Records": [], "pad": "'
            for _ in range(40):
                yield b"x" * 65536
            yield b'"}'

        assert client.post("/s3-events", content=chunks(), headers=AUTH).status_code == 413
        assert client.get("/s3-events").status_code == 405
        assert client.get("/health").json()["signals"] == 0
    assert wake.calls == 0


def test_deeply_nested_json_is_a_400_not_a_500() -> None:
    """Python's JSON parser gives up past its recursion limit: still the client's fault."""
    wake = RecordingWake()
    with TestClient(create_app(TOKEN, "landing-zone", wake)) as client:
        for deep in (
            b"[" * 100_000 + b"]" * 100_000,  # 200 KB: under the size limit
            b'{"Records": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
        ):
            answer = client.post("/s3-events", content=deep, headers=AUTH)
            assert answer.status_code == 400
            assert answer.json() == {"error": "body is JSON nested too deeply for a notification"}
        assert client.get("/health").json()["events"] == 0
    assert wake.calls == 0


def test_receiver_accepts_a_notification_and_wakes() -> None:
    wake = RecordingWake()
    with TestClient(create_app(TOKEN, "landing-zone", wake)) as client:
        answer = client.post(
            "/s3-events", json=notification("landing-zone", "a b.csv"), headers=AUTH
        )
        assert answer.status_code == 202
        assert answer.json() == {"records": 1, "wake": True}
        ignored = client.post(
            "/s3-events", json=notification("landing-zone", "invalid/x.csv"), headers=AUTH
        )
        assert ignored.json() == {"records": 1, "wake": False}
        for _ in range(100):
            if client.get("/health").json()["wakes"] == 1:
                break
            time.sleep(0.02)
        health = client.get("/health").json()
    assert health["events"] == 2 and health["signals"] == 1 and health["wakes"] == 1
    assert wake.calls == 1


def test_a_burst_during_a_wake_costs_one_more_wake_not_one_per_event() -> None:
    async def scenario() -> int:
        wake = RecordingWake(seconds=0.2)
        coalescer = Coalescer(wake, Counters())
        loop = asyncio.create_task(coalescer.run())
        coalescer.signal()
        await asyncio.sleep(0.05)  # the first wake is running now
        for _ in range(500):
            coalescer.signal()
        await asyncio.sleep(0.6)
        loop.cancel()
        return wake.calls

    assert asyncio.run(scenario()) == 2


def test_a_failed_wake_is_retried() -> None:
    async def scenario() -> tuple[int, Counters]:
        calls = 0

        async def flaky() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("prefect down")

        counters = Counters()
        coalescer = Coalescer(flaky, counters, retry_seconds=0.05)
        loop = asyncio.create_task(coalescer.run())
        coalescer.signal()
        await asyncio.sleep(0.3)
        loop.cancel()
        return calls, counters

    calls, counters = asyncio.run(scenario())
    assert calls == 2 and counters.failures == 1 and counters.wakes == 1

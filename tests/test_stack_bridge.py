"""The SeaweedFS filer bridge: filer metadata changes read as S3 event records, and, on a
real SeaweedFS, an upload posted to a receiver that is down at first."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from agrolake.events.s3 import parse_notification, wakes_landing
from agrolake.stack.filer_bridge import MessageStream, s3_records
from tests.services import S3Server

BUCKET = "landing-zone"


def change(directory: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> Any:
    """A filer metadata change as `weed filer.meta.tail` prints it (trimmed)."""
    return {
        "directory": directory,
        "eventNotification": {
            "oldEntry": old,
            "newEntry": new,
            "newParentPath": directory if new else "",
        },
        "tsNs": "1796009915456226589",
    }


def entry(name: str, *, folder: bool = False, size: int = 8) -> dict[str, Any]:
    return {"name": name, "isDirectory": folder, "attributes": {"fileSize": str(size)}}


def test_filer_changes_read_as_s3_records_the_receiver_understands() -> None:
    upload = change("/buckets/landing-zone/lab 2024", entry("vino tinto.csv"))
    [record] = s3_records(upload, BUCKET)
    assert record["eventName"] == "s3:ObjectCreated:Put"
    assert record["s3"]["object"] == {"key": quote_plus("lab 2024/vino tinto.csv"), "size": 8}
    [event] = parse_notification({"Records": [record]})
    assert event.key == "lab 2024/vino tinto.csv" and event.bucket == BUCKET
    assert wakes_landing([event], BUCKET)

    deleted = change("/buckets/landing-zone", None, old=entry("x.csv"))
    assert [r["eventName"] for r in s3_records(deleted, BUCKET)] == ["s3:ObjectRemoved:Delete"]
    rejected = s3_records(change("/buckets/landing-zone/invalid", entry("x.csv")), BUCKET)
    assert not wakes_landing(parse_notification({"Records": rejected}), BUCKET)
    # Folders, multipart parts, other buckets and look-alike buckets are no objects of landing.
    assert s3_records(change("/buckets/landing-zone", entry("lab", folder=True)), BUCKET) == []
    part = change("/buckets/landing-zone/.uploads/abc", entry("0001_x.part"))
    assert s3_records(part, BUCKET) == []
    assert s3_records(change("/buckets/raw-zone", entry("y.csv")), BUCKET) == []
    assert s3_records(change("/buckets/landing-zone-2", entry("y.csv")), BUCKET) == []


def test_the_tail_output_is_split_into_messages_whatever_the_chunks() -> None:
    messages = [change("/buckets/landing-zone", entry(f"f{i}.csv")) for i in range(3)]
    text = "".join(json.dumps(m, indent=2) + "\n" for m in messages)
    for size in (1, 7, 64, len(text)):
        stream = MessageStream()
        found = [m for i in range(0, len(text), size) for m in stream.feed(text[i : i + size])]
        assert found == messages, size


class Recorder(BaseHTTPRequestHandler):
    """A receiver that refuses the first post with 503, then takes everything."""

    bodies: list[dict[str, Any]]
    refused: list[int]

    def do_POST(self) -> None:  # http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["Authorization"] == "Bearer bridge-token"
        if not self.refused:
            self.refused.append(1)
            self.send_response(503)
        else:
            self.bodies.append(body)
            self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"bodies": [], "refused": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/s3-events", handler
    server.shutdown()
    server.server_close()


def test_an_upload_to_seaweedfs_reaches_the_receiver_after_its_outage(
    s3_server: S3Server, receiver: tuple[str, type[Recorder]], tmp_path: Path
) -> None:
    url, handler = receiver
    bucket = f"b{secrets.token_hex(5)}-landing"
    client = s3_server.s3_client()
    client.create_bucket(Bucket=bucket)
    filer = s3_server._ports[2]  # start_seaweedfs: master, volume, filer, s3, admin
    env = {
        **os.environ,
        "AGROLAKE_WEBHOOK_TOKEN": "bridge-token",
        "AGROLAKE_BUCKET_LANDING": bucket,
    }
    log = (tmp_path / "bridge.log").open("wb")
    bridge = subprocess.Popen(
        [sys.executable, "-m", "agrolake.stack.filer_bridge",
         "--filer", f"127.0.0.1:{filer}", "--receiver", url],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        time.sleep(1)  # the tail subscribes; what came before is replayed anyway
        client.put_object(Bucket=bucket, Key="lab 2024/vino tinto.csv", Body=b"a,b\n1,2\n")
        deadline = time.monotonic() + 60
        keys: list[str] = []
        while time.monotonic() < deadline and "lab 2024/vino tinto.csv" not in keys:
            time.sleep(0.2)
            events = [e for body in list(handler.bodies) for e in parse_notification(body)]
            keys = [e.key for e in events if e.created]
        assert "lab 2024/vino tinto.csv" in keys, (tmp_path / "bridge.log").read_text()
        assert handler.refused == [1], "the first post met the outage and was kept"
        assert wakes_landing(events, bucket)
    finally:
        bridge.terminate()
        bridge.wait(30)
        log.close()

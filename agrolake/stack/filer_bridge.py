"""SeaweedFS's filer metadata changes → the S3 event receiver (``POST /s3-events``).

SeaweedFS sends no bucket notifications; its filer streams every metadata change
(``weed filer.meta.tail``: one JSON object per change, with the directory, the old and
the new entry). This bridge follows that stream for the landing bucket and posts what
it sees as S3 event records (the AWS JSON MinIO sends), so the receiver treats an upload
to SeaweedFS like one to MinIO: it decides what wakes the landing flow (not rejected
files, not deletions) and coalesces bursts.

A notification is only a wake-up signal, so while the receiver is unreachable the
bridge keeps a bounded number of records and sends them when it answers again.
After a restart it replays the last minute, so a change made while it was down still
wakes the flow (the landing flow's minute poll is the safety net beyond that).

Run by the stack: ``python -m agrolake.stack.filer_bridge --filer HOST:PORT
--receiver URL`` (bucket and token from the settings).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

log = logging.getLogger("agrolake.stack.filer_bridge")

#: Records kept while the receiver is away (one is enough to wake the flow).
MAX_PENDING = 500
#: What a (re)started bridge replays, so changes made while it was down are not missed.
REPLAY = "1m"
_RETRY_SECONDS = 2.0
#: SeaweedFS keeps multipart upload parts under this folder of the bucket.
_UPLOADS_FOLDER = ".uploads/"


def s3_records(message: dict[str, Any], bucket: str) -> list[dict[str, Any]]:
    """The S3 event records a filer metadata change stands for: an object created or
    replaced (ObjectCreated:Put) or deleted (ObjectRemoved:Delete) in ``bucket``.
    Folders, multipart parts and other buckets stand for none."""
    note = message.get("eventNotification") or {}
    new, old = note.get("newEntry"), note.get("oldEntry")
    when = _event_time(message.get("tsNs"))
    if isinstance(new, dict) and not new.get("isDirectory"):
        parent = note.get("newParentPath") or message.get("directory", "")
        key = _bucket_key(parent, new.get("name", ""), bucket)
        size = int((new.get("attributes") or {}).get("fileSize") or 0)
        return [_record("s3:ObjectCreated:Put", bucket, key, when, size)] if key else []
    if isinstance(old, dict) and new is None and not old.get("isDirectory"):
        key = _bucket_key(message.get("directory", ""), old.get("name", ""), bucket)
        return [_record("s3:ObjectRemoved:Delete", bucket, key, when)] if key else []
    return []


def _bucket_key(directory: str, name: str, bucket: str) -> str | None:
    prefix = f"/buckets/{bucket}/"
    path = f"{directory.rstrip('/')}/{name}"
    if not name or not path.startswith(prefix):
        return None
    key = path.removeprefix(prefix)
    return None if key.startswith(_UPLOADS_FOLDER) else key


def _event_time(ts_ns: Any) -> str:
    try:
        moment = datetime.fromtimestamp(int(ts_ns) / 1e9, UTC)
    except (TypeError, ValueError, OverflowError):
        moment = datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(name: str, bucket: str, key: str, when: str, size: int = 0) -> dict[str, Any]:
    # Keys travel URL-encoded, spaces as "+", as S3 sends them.
    return {
        "eventVersion": "2.0",
        "eventSource": "agrolake:seaweedfs-filer",
        "eventTime": when,
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": size}},
    }


class MessageStream:
    """Splits ``weed filer.meta.tail``'s output (JSON objects, one after another, each
    over several lines) into messages, whatever the chunks it arrives in."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder = json.JSONDecoder()

    def feed(self, text: str) -> Iterator[dict[str, Any]]:
        self._buffer += text
        while True:
            start = self._buffer.find("{")
            if start < 0:
                self._buffer = ""
                return
            try:
                message, end = self._decoder.raw_decode(self._buffer, start)
            except json.JSONDecodeError:
                self._buffer = self._buffer[start:]
                return  # an object cut in two: wait for its end
            self._buffer = self._buffer[end:]
            if isinstance(message, dict):
                yield message


class Forwarder:
    """Posts records to the receiver; keeps them (bounded) while it cannot."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.pending: list[dict[str, Any]] = []
        self.failing = False
        self.sent = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        self.pending = (self.pending + records)[-MAX_PENDING:]

    def flush(self) -> bool:
        """Send what is pending; False if the receiver could not take it."""
        if not self.pending:
            return True
        request = urllib.request.Request(
            self.url,
            method="POST",
            data=json.dumps({"Records": self.pending}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            if (
                exc.code < 500
            ):  # refused for good (wrong token, malformed): sending again won't help
                log.error("the receiver refused %d records: HTTP %d", len(self.pending), exc.code)
                self.pending = []
                return True
            return self._failed(f"HTTP {exc.code}")
        except OSError as exc:
            return self._failed(str(getattr(exc, "reason", exc)))
        if self.failing:
            log.warning("the receiver answers again")
        self.failing = False
        self.sent += len(self.pending)
        self.pending = []
        return True

    def _failed(self, reason: str) -> bool:
        if not self.failing:
            log.warning("cannot reach the receiver (%s): keeping records, retrying", reason)
        self.failing = True
        return False


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the bridge dies (even by SIGKILL), so a tail
    process never outlives it."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def follow(weed: str, filer: str, bucket: str, forwarder: Forwarder) -> int:
    """Follow the filer until its tail process ends; returns that process's exit code."""
    argv = [weed, "filer.meta.tail", f"-filer={filer}", f"-pathPrefix=/buckets/{bucket}/"]
    argv.append(f"-timeAgo={REPLAY}")
    tail = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    assert tail.stdout is not None
    stream = MessageStream()
    fd = tail.stdout.fileno()
    log.info("following %s on %s, posting to %s", f"/buckets/{bucket}/", filer, forwarder.url)
    try:
        while True:
            wait = _RETRY_SECONDS if forwarder.pending else None
            readable, _, _ = select.select([fd], [], [], wait)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return tail.wait()
                for message in stream.feed(chunk.decode("utf-8", errors="replace")):
                    forwarder.add(s3_records(message, bucket))
            forwarder.flush()
    finally:
        if tail.poll() is None:
            tail.terminate()
            tail.wait(10)


def _weed() -> str:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else (shutil.which("weed") or "weed")


def main(argv: list[str] | None = None) -> int:
    from agrolake.lake.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m agrolake.stack.filer_bridge")
    parser.add_argument("--filer", required=True, help="SeaweedFS filer, HOST:PORT")
    parser.add_argument("--receiver", required=True, help="the receiver's /s3-events URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="filer-bridge: %(message)s", stream=sys.stderr)
    settings = load_settings()
    if settings.webhook_token is None:
        log.error("set AGROLAKE_WEBHOOK_TOKEN: the receiver wants a bearer token")
        return 1
    forwarder = Forwarder(args.receiver, settings.webhook_token.get_secret_value())
    code = follow(_weed(), args.filer, settings.bucket_landing, forwarder)
    log.error("weed filer.meta.tail ended (exit code %s); %d records sent", code, forwarder.sent)
    time.sleep(1)  # supervisord restarts the bridge; do not spin against a filer that is down
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Failure notifications: a JSON webhook and email, against local receivers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from agrolake.events.notifications import FailureNotice, notify_failure, one_line
from agrolake.lake.settings import NotificationSettings
from tests.services import PrefectServer

ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """A local HTTP endpoint recording JSON bodies; the first ``failures`` get a 503."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failures:
                    receiver.failures -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/agrolake"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(failures=1)
    yield found
    found.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


NOTICE = FailureNotice.of(
    "landing",
    "brave-otter",
    "Failed",
    "Flow run encountered an exception: CatalogUnavailable: catalog down\nTraceback …",
    "http://127.0.0.1:4200/runs/flow-run/1234",
)


def test_a_notice_is_one_line_with_flow_reason_and_url() -> None:
    assert NOTICE.reason == "Flow run encountered an exception: CatalogUnavailable: catalog down"
    assert "\n" not in NOTICE.text
    assert NOTICE.text.endswith("http://127.0.0.1:4200/runs/flow-run/1234")
    assert len(one_line("x" * 1000)) == 300


def test_failure_goes_to_the_webhook_and_by_email(
    receiver: Receiver, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    settings = NotificationSettings(
        notify_webhook_url=receiver.url,
        notify_email_to="ops@example.org, farm@example.org",
        smtp_port=port,
    )
    assert notify_failure(settings, NOTICE) == []
    # The first POST got a 503: the notice was sent again, once.
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["flow"] == "landing" and body["state"] == "Failed"
    assert body["url"] == NOTICE.url and body["reason"] == NOTICE.reason
    assert body["text"] == NOTICE.text
    [mail] = box.messages
    assert mail["Subject"] == "agrolake: flow landing failed"
    assert mail["To"] == "ops@example.org, farm@example.org"
    content = mail.get_payload()
    assert "Reason: Flow run encountered an exception: CatalogUnavailable" in content
    assert "Run page: http://127.0.0.1:4200/runs/flow-run/1234" in content


def test_unreachable_channels_are_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    settings = NotificationSettings(
        notify_webhook_url="http://127.0.0.1:9/hooks/T0KEN-SECRET",
        notify_email_to="a@b.c",
        smtp_port=9,
    )
    assert notify_failure(settings, NOTICE) == ["webhook", "email"]
    # Webhook URLs carry their token in the path: the log names the host only.
    assert "127.0.0.1:9" in caplog.text and "T0KEN-SECRET" not in caplog.text
    broken = NotificationSettings(notify_webhook_url="http://")
    assert notify_failure(broken, NOTICE) == ["webhook"]


@pytest.mark.slow
def test_a_failed_flow_run_notifies_with_its_run_url(
    prefect_server: PrefectServer,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    """A real flow run against a real Prefect server fails (a setting cannot work, so
    no retry); its failure hook posts and mails the reason and the run page."""
    box, port = mailbox
    env = {
        **os.environ,
        **prefect_server.client_env(),
        "AGROLAKE_HOME": str(tmp_path / "home"),
        "AGROLAKE_STORAGE_URL": "ftp://farm.example/lake",
        "AGROLAKE_NOTIFY_WEBHOOK_URL": receiver.url,
        "AGROLAKE_NOTIFY_EMAIL_TO": "ops@example.org",
        "AGROLAKE_SMTP_PORT": str(port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "etl.trusted"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    # Quiet: the user sees one error line, not Prefect's tracebacks.
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    [error] = lines
    assert error.startswith("error: invalid settings: AGROLAKE_STORAGE_URL")
    [body] = receiver.bodies
    assert body["flow"] == "trusted" and body["state"] == "Failed"
    assert "AGROLAKE_STORAGE_URL" in body["reason"] and "ftp" in body["reason"]
    assert body["url"].startswith(prefect_server.api_url.removesuffix("/api"))
    assert "/runs/flow-run/" in body["url"]
    [mail] = box.messages
    assert mail["Subject"] == "agrolake: flow trusted failed"

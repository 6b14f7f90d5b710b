"""Tell people that a flow run failed: a JSON webhook and, optionally, email.

Self-hosted Prefect has no email block of its own (the seed used prefect-email),
so the flows' failure hooks call this. A notifier must never hide the failure it
reports: every channel is tried, problems are logged and returned, nothing raises.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from agrolake.lake.settings import NotificationSettings

log = logging.getLogger("agrolake.events.notifications")

_TIMEOUT_SECONDS = 10.0
_REASON_LIMIT = 300


@dataclass(frozen=True)
class FailureNotice:
    flow: str
    flow_run: str
    state: str  # Failed or Crashed
    reason: str
    url: str | None = None

    @classmethod
    def of(
        cls, flow: str, flow_run: str, state: str, message: str | None, url: str | None
    ) -> FailureNotice:
        return cls(flow, flow_run, state, one_line(message or "no reason given"), url)

    @property
    def text(self) -> str:
        where = f" {self.url}" if self.url else ""
        return f"agrolake: flow {self.flow} run {self.flow_run} {self.state}: {self.reason}{where}"

    def payload(self) -> dict[str, str | None]:
        # "text" makes Slack, Mattermost and Rocket.Chat incoming webhooks show it as is.
        return {"text": self.text, **asdict(self)}


def one_line(message: str) -> str:
    """The first non-empty line, shortened: a reason, not a traceback."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), message)
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 1] + "…"


def notify_failure(settings: NotificationSettings, notice: FailureNotice) -> list[str]:
    """Send ``notice`` on every configured channel; the channels that failed."""
    failed = []
    if settings.notify_webhook_url:
        url = settings.notify_webhook_url.get_secret_value()
        try:
            _post(url, notice)
        except httpx.HTTPStatusError as exc:
            log.warning("failure webhook on %s answered %s", _host(url), exc.response.status_code)
            failed.append("webhook")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # The URL's path is a secret (Slack-style tokens): name the host only.
            log.warning("failure webhook on %s not reached: %s", _host(url), type(exc).__name__)
            failed.append("webhook")
    if settings.notify_email_to:
        try:
            _mail(settings, notice)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("failure email via %s not sent: %s", settings.smtp_host, exc)
            failed.append("email")
    return failed


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1] or "an invalid URL"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


@retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _post(url: str, notice: FailureNotice) -> None:
    response = httpx.post(url, json=notice.payload(), timeout=_TIMEOUT_SECONDS)
    response.raise_for_status()


def _mail(settings: NotificationSettings, notice: FailureNotice) -> None:
    message = EmailMessage()
    message["Subject"] = f"agrolake: flow {notice.flow} {notice.state.lower()}"
    message["From"] = settings.smtp_from
    message["To"] = settings.notify_email_to
    lines = [
        f"Flow: {notice.flow}",
        f"Run: {notice.flow_run}",
        f"State: {notice.state}",
        f"Reason: {notice.reason}",
    ]
    if notice.url:
        lines.append(f"Run page: {notice.url}")
    message.set_content("\n".join(lines) + "\n")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)

"""Run hooks: a failed or crashed flow run notifies people (webhook, email), and a task
retries only when trying again can help."""

from __future__ import annotations

import logging
from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_UI_URL

from agrolake.errors import AgrolakeError
from agrolake.events.notifications import FailureNotice, notify_failure
from agrolake.lake.settings import NotificationSettings

log = logging.getLogger("agrolake.events.notifications")


def notify_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure``/``on_crashed`` hook: the flow, the one-line reason and the run page."""
    ui = PREFECT_UI_URL.value()
    url = f"{ui.rstrip('/')}/runs/flow-run/{flow_run.id}" if ui else None
    notice = FailureNotice.of(flow.name, flow_run.name, state.name, state.message, url)
    try:
        settings = NotificationSettings()
    except ValueError as exc:  # pydantic's ValidationError: the notifier itself is misconfigured
        log.warning("no failure notice sent, notification settings invalid: %s", exc)
        return
    notify_failure(settings, notice)


#: ``@flow(on_failure=NOTIFY, on_crashed=NOTIFY)`` on every agrolake flow.
NOTIFY = [notify_on_failure]


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn``: agrolake errors say whether they are transient (a store
    or catalog outage); a bad setting or a broken file fails at once. Errors agrolake
    did not classify are retried."""
    try:
        state.result()
    except AgrolakeError as exc:
        return exc.transient
    except Exception:
        return True
    return False


#: ``@task(name=…, **ZONE_TASK)``: the options of every task that moves data between
#: zones. No cache: a task that lands or cleans must run each time it is called (with
#: PREFECT_RESULTS_PERSIST_BY_DEFAULT a second landing pass would otherwise replay
#: the first's result); retries only for transient errors.
ZONE_TASK: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": 2,
    "retry_delay_seconds": 10,
    "retry_condition_fn": retry_if_transient,
}

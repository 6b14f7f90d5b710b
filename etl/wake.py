"""The S3 event receiver wired to Prefect: a notification makes sure one run of the
landing deployment is queued.

``agrolake webhook`` serves it. A wake that finds a
run of the deployment still Scheduled or Pending does nothing: that run has not
listed landing yet, so it will see the new objects too. Only when every run has
started does a wake queue another, so a burst of uploads costs a few flow runs,
not one per file (the seed's design, which its team dropped as too slow).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import uvicorn
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound

from agrolake.errors import ConfigError
from agrolake.events.receiver import create_app
from agrolake.lake.http_guard import uvicorn_limits
from agrolake.lake.settings import Settings

_NOT_STARTED = [StateType.SCHEDULED, StateType.PENDING]
#: A Scheduled run counts as waiting only if it is due now (not one set for tomorrow),
#: a Pending one only if recent (not one a dead worker left behind).
_DUE_WITHIN = timedelta(seconds=10)
_PENDING_FOR_AT_MOST = timedelta(minutes=5)


async def _deployment_id(name: str) -> UUID:
    async with get_client() as client:
        try:
            return (await client.read_deployment_by_name(name)).id
        except ObjectNotFound:
            raise ConfigError(
                f"Prefect has no deployment {name!r}: run `prefect --no-prompt deploy --all` "
                "in the project folder, or set AGROLAKE_LANDING_DEPLOYMENT"
            ) from None
        except Exception as exc:
            raise ConfigError(f"Prefect API not reachable ({exc}); is the server up?") from exc


async def queue_run_unless_waiting(deployment_id: UUID) -> UUID | None:
    """A new flow run of the deployment, unless one is about to start."""
    async with get_client() as client:
        candidates = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_NOT_STARTED))
            ),
            limit=20,
        )
        now = datetime.now(UTC)
        if any(_about_to_start(run, now) for run in candidates):
            return None
        run = await client.create_flow_run_from_deployment(deployment_id, tags=["s3-event"])
        return run.id


def _about_to_start(run: Any, now: datetime) -> bool:
    state = run.state
    if state is None:
        return False
    if state.type == StateType.SCHEDULED:
        due = run.expected_start_time or state.timestamp
        return bool(due is None or due <= now + _DUE_WITHIN)
    return bool(state.timestamp and state.timestamp >= now - _PENDING_FOR_AT_MOST)


def serve(settings: Settings, host: str, port: int) -> None:
    if settings.webhook_token is None:
        raise ConfigError("set AGROLAKE_WEBHOOK_TOKEN: the receiver does not run unauthenticated")
    deployment_id = asyncio.run(_deployment_id(settings.landing_deployment))

    async def wake() -> None:
        await queue_run_unless_waiting(deployment_id)

    app = create_app(settings.webhook_token.get_secret_value(), settings.bucket_landing, wake)
    uvicorn.run(
        app, host=host, port=port, log_level="warning", access_log=False, **uvicorn_limits()
    )

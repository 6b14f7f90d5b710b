"""Training claims: each (model, table version, estimator, parameters) trains once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from agrolake.lake.catalog.database import translated_errors
from agrolake.lake.catalog.schema import training_runs


@dataclass(frozen=True)
class TrainingRun:
    """One training claimed: of a model, on a table version, with an estimator."""

    model: str
    table_name: str
    table_version: int
    estimator: str
    params_hash: str
    status: str  # running, done
    params: dict[str, Any]
    run_id: str | None
    model_version: str | None
    claimed_by: str | None
    created_at: datetime
    updated_at: datetime


def params_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


class TrainingClaims:
    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    def _key(
        self, model: str, table: str, version: int, estimator: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "model": model,
            "table_name": table,
            "table_version": version,
            "estimator": estimator,
            "params_hash": params_hash(params),
        }

    def claim(
        self,
        model: str,
        table: str,
        version: int,
        estimator: str,
        params: dict[str, Any],
        worker: str,
    ) -> bool:
        """True if this worker is the one to train; False if it was claimed before."""
        key = self._key(model, table, version, estimator, params)
        now = datetime.now(UTC)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with translated_errors(self.url, "training claim"), self.engine.begin() as conn:
            inserted = conn.execute(
                dialect.insert(training_runs)
                .values(
                    **key,
                    status="running",
                    params=params,
                    claimed_by=worker,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
                .returning(training_runs.c.model)
            ).first()
        return inserted is not None

    def finish(
        self,
        model: str,
        table: str,
        version: int,
        estimator: str,
        params: dict[str, Any],
        *,
        run_id: str,
        model_version: str | None,
    ) -> None:
        key = self._key(model, table, version, estimator, params)
        with translated_errors(self.url, "training record"), self.engine.begin() as conn:
            conn.execute(
                update(training_runs)
                .where(*(training_runs.c[k] == v for k, v in key.items()))
                .values(
                    status="done",
                    run_id=run_id,
                    model_version=model_version,
                    updated_at=datetime.now(UTC),
                )
            )

    def release(
        self, model: str, table: str, version: int, estimator: str, params: dict[str, Any]
    ) -> None:
        """Forget a claim whose training failed, so a later trigger tries again."""
        key = self._key(model, table, version, estimator, params)
        with translated_errors(self.url, "training release"), self.engine.begin() as conn:
            conn.execute(
                delete(training_runs).where(*(training_runs.c[k] == v for k, v in key.items()))
            )

    def runs(self, model: str) -> list[TrainingRun]:
        with translated_errors(self.url, "training lookup"), self.engine.connect() as conn:
            rows = conn.execute(
                select(training_runs)
                .where(training_runs.c.model == model)
                .order_by(training_runs.c.created_at)
            ).all()
        return [TrainingRun(**r._mapping) for r in rows]

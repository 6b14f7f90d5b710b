"""Prefect flows over the agrolake library; each runs with ``python -m etl.<module>``."""

import os

# Prefect's ephemeral server otherwise starts a telemetry service that races its
# own SQLite file ("database is locked" tracebacks on every run).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

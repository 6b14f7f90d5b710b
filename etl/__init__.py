"""Prefect flows over the agrolake library; each runs with ``python -m etl.<module>``.

Quiet by default: a run prints its summary lines on stdout (or one error line on
stderr), and Prefect's own logs (engine, task and flow states, the temporary
server, failure tracebacks) stay off the console; they still reach the Prefect
server, so the UI shows them. ``-v`` on the command line, or
``PREFECT_LOGGING_LEVEL`` (the seed's way), brings them back.
"""

import os
import sys

# Prefect's ephemeral server otherwise starts a telemetry service that races its
# own SQLite file ("database is locked" tracebacks on every run).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

_CONSOLE_LEVELS = (
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL",
)
_VERBOSE = any(arg in ("-v", "--verbose") for arg in sys.argv[1:])
if _VERBOSE:
    # Also over a quiet level inherited from a parent that imported this package.
    for name in _CONSOLE_LEVELS:
        os.environ[name] = "INFO"
elif "PREFECT_LOGGING_LEVEL" not in os.environ:
    for name in _CONSOLE_LEVELS:
        os.environ.setdefault(name, "CRITICAL")

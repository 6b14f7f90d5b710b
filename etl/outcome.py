"""How an API flow ends: a failed run carries one line, and ``python -m`` exits with it.

Expected failures (an API down, a setting missing) end the flow run in a
Failed state whose message is the one-line reason (the Prefect UI and
notifications show it); run from the command line, that line is printed on
stderr and the exit status is 1, without tracebacks.
"""

from __future__ import annotations

import sys
from typing import Any

from prefect.states import Failed, State


def outcome(result: dict[str, Any]) -> dict[str, Any] | State:
    """The flow's return: its result, or a Failed state when ``result["error"]`` says so."""
    return Failed(message=result["error"]) if result.get("error") else result


def exit_on_failure(state: State) -> None:
    """For ``if __name__ == "__main__"``: one ``error:`` line and exit 1 on failure."""
    if state.is_failed() or state.is_crashed():
        print(f"error: {state.message}", file=sys.stderr, flush=True)
        raise SystemExit(1)

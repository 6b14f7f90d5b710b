"""prefect.yaml's pull step: flow runs start in the folder that holds this installation's
``etl`` package, wherever the worker runs.

``prefect deploy`` would otherwise record the folder it was run from, which exists only
on that machine. This installation's folder is right on every machine with agrolake
installed: a checkout (an editable install: the project root) or a container image
(site-packages, where the wheel put ``etl/``). The deployments' entrypoints,
``etl/<flow>.py:<function>``, are relative to it.
"""

from __future__ import annotations

import os
from pathlib import Path


def installed_project() -> dict[str, str]:
    """Change to the folder holding ``etl/``; Prefect's pull steps return what they set."""
    folder = Path(__file__).resolve().parent.parent
    os.chdir(folder)
    return {"directory": str(folder)}

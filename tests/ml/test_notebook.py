"""The experiments notebook runs top to bottom on the embedded profile (as in CI)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ml.tracking import client
from agrolake.pipeline import run_all
from agrolake.samples import write_wine_quality

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "wine_quality_experiments.ipynb"


@pytest.mark.slow
def test_notebook_logs_its_experiments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AGROLAKE_HOME", str(home))
    lake = Lake(Settings())
    lake.init()
    lake.store.put(
        "landing", "vino.csv", write_wine_quality(tmp_path / "w.csv", rows=300).read_bytes()
    )
    run_all(lake)

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    experiment = client(lake.settings).get_experiment_by_name("wine-quality-experiments")
    assert experiment is not None
    runs = client(lake.settings).search_runs([experiment.experiment_id])
    assert len(runs) == 3 and all("rmse" in r.data.metrics for r in runs)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]

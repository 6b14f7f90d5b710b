"""Training flow wall time for the wine data, against the bare fit in the same run.

For each estimator, on the real UCI red wine data (1,599 rows) landed and refined
in a fresh embedded lake:

* ``first``: ``train_wine_quality`` on a lake that never trained: read the pinned table
  version, split, fit, log parameters, metrics, dataset, model, ONNX export and lineage
  to MLflow (whose embedded store is created first), register, gate;
* ``again``: the same once more (the store exists, and the gate scores the champion);
* ``warm``: the same once more, after the modules MLflow imports on first use (its
  SQLAlchemy store, skops, the pyfunc flavour): what the work itself costs;
* ``floor``: the same split and fit and the same three metrics, with nothing logged.

Each measurement runs in a fresh child process after ``import mlflow`` and
scikit-learn (so the figure is what a scheduled training run waits for, those imports
aside); ``--cli`` also times the whole ``agrolake train`` command (a fresh process,
every import included). The steps come from
the training's progress callback: reading, fitting, logging to MLflow, registering,
gating. Run from the repository root::

    .venv/bin/python -m bench.training [--repeat 3] [--cli] [--out FILE]

A script, not a test: it measures and prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ESTIMATORS = ("elasticnet", "random_forest")
STEPS = ("reading", "fitting", "logging", "registering", "gating")


def _prepare(home: Path) -> None:
    from agrolake.lake import Lake
    from agrolake.lake.settings import Settings
    from agrolake.pipeline import run_all
    from agrolake.samples import write_wine_quality

    lake = Lake(Settings(home=home, train_on_run=False))
    lake.init()
    lake.store.put(
        "landing", "winequality-red.csv", write_wine_quality(home / "w.csv").read_bytes()
    )
    run_all(lake)


def _child(mode: str, estimator: str, home: Path) -> dict[str, float]:
    # Imports outside the timed region in every mode; with "warm", also what MLflow
    # imports on first use.
    import importlib

    modules = ["mlflow", "sklearn.ensemble", "sklearn.linear_model"]
    if mode == "warm":
        modules += ["mlflow.pyfunc", "mlflow.sklearn", "mlflow.store.tracking.sqlalchemy_store",
                    "skops.io"]  # fmt: skip
    for module in modules:
        importlib.import_module(module)

    from agrolake.lake import Lake
    from agrolake.lake.settings import Settings
    from agrolake.ml.data import FEATURES, TARGET, load_training_data
    from agrolake.ml.estimators import make_estimator, resolve_params
    from agrolake.ml.training import _metrics, train_wine_quality

    lake = Lake(Settings(home=home, train_on_run=False))
    marks: list[float] = []
    started = time.perf_counter()
    if mode == "floor":
        data = load_training_data(lake)
        model = make_estimator(estimator, resolve_params(estimator))
        model.fit(data.train[list(FEATURES)], data.train[TARGET])
        _metrics(model.predict(data.test[list(FEATURES)]), data.test[TARGET])
    else:
        train_wine_quality(
            lake, estimator=estimator, on_progress=lambda *_: marks.append(time.perf_counter())
        )
    seconds = time.perf_counter() - started
    steps = {s: b - a for s, a, b in zip(STEPS, marks, marks[1:], strict=False)}
    return {"seconds": seconds, **steps, "load": os.getloadavg()[0]}


def _cli(home: Path) -> float:
    env = {**os.environ, "AGROLAKE_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "agrolake"), "train"], cwd=home.parent,
                   env=env, capture_output=True, check=True)  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time `agrolake train`")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ESTIMATOR", "HOME"))
    args = parser.parse_args()
    if args.child:
        mode, estimator, home = args.child
        print(json.dumps(_child(mode, estimator, Path(home))))
        return
    rows, steps = [], []
    for estimator in ESTIMATORS:
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in ("floor", "first", "again",
                                                                   "warm")}  # fmt: skip
        cli: list[float] = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-training-") as folder:
                home = Path(folder) / "home"
                _prepare(home)
                for mode in runs:
                    env = {**os.environ, "AGROLAKE_HOME": str(home)}
                    argv = ["-m", "bench.training", "--child", mode, estimator, str(home)]
                    done = subprocess.run(
                        [sys.executable, *argv],
                        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    runs[mode].append(json.loads(done.stdout.splitlines()[-1]))
                if args.cli:
                    cli.append(_cli(home))
        median = {m: statistics.median(r["seconds"] for r in v) for m, v in runs.items()}
        loads = sorted(r["load"] for v in runs.values() for r in v)
        shown_cli = f"{statistics.median(cli):.2f} s" if cli else "–"
        rows.append(
            f"| {estimator} | {median['first']:.2f} s | {median['again']:.2f} s "
            f"| {median['warm']:.2f} s | {shown_cli} | {median['floor']:.2f} s "
            f"| {loads[0]:.1f}–{loads[-1]:.1f} |"
        )
        for mode in ("first", "again", "warm"):
            parts = " | ".join(
                f"{statistics.median(r.get(s, 0.0) for r in runs[mode]):.2f}" for s in STEPS
            )
            steps.append(f"| {estimator} | {mode} | {parts} |")
    table = "\n".join(
        [
            "| estimator | first training | again | again, MLflow's modules loaded "
            "| `agrolake train` (whole command) | floor (split + fit + metrics) | load |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "| estimator | training | " + " | ".join(STEPS) + " |",
            "|---|---|" + "---:|" * len(STEPS),
            *steps,
        ]
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

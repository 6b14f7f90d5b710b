"""Training flow wall time for the wine data, against the bare fit in the same run.

For each estimator, on the real UCI red wine data (1,599 rows) landed and refined
in a fresh embedded lake:

* ``agrolake``: ``train_wine_quality`` — read the pinned table version, split,
  fit, log parameters, metrics, dataset, model, ONNX export and lineage to MLflow,
  register the version and run the gate;
* ``floor``: the same split and fit and the same three metrics, with nothing logged.

Each measurement runs in a fresh child process after imports (so the figure is
what a scheduled training run waits for, imports aside). Run from the repository
root::

    .venv/bin/python -m bench.training [--repeat 3] [--out FILE]

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
    import mlflow  # noqa: F401  (imports outside the timed region in both modes)
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401

    from agrolake.lake import Lake
    from agrolake.lake.settings import Settings
    from agrolake.ml.data import FEATURES, TARGET, load_training_data
    from agrolake.ml.estimators import make_estimator, resolve_params
    from agrolake.ml.training import _metrics, train_wine_quality

    lake = Lake(Settings(home=home, train_on_run=False))
    started = time.perf_counter()
    if mode == "agrolake":
        train_wine_quality(lake, estimator=estimator)
    else:
        data = load_training_data(lake)
        model = make_estimator(estimator, resolve_params(estimator))
        model.fit(data.train[list(FEATURES)], data.train[TARGET])
        _metrics(model.predict(data.test[list(FEATURES)]), data.test[TARGET])
    return {"seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ESTIMATOR", "HOME"))
    args = parser.parse_args()
    if args.child:
        mode, estimator, home = args.child
        print(json.dumps(_child(mode, estimator, Path(home))))
        return
    rows = []
    for estimator in ESTIMATORS:
        times: dict[str, list[float]] = {"floor": [], "agrolake": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-training-") as folder:
                home = Path(folder) / "home"
                _prepare(home)
                for mode in ("floor", "agrolake"):
                    env = {**os.environ, "AGROLAKE_HOME": str(home)}
                    argv = ["-m", "bench.training", "--child", mode, estimator, str(home)]
                    done = subprocess.run(
                        [sys.executable, *argv],
                        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    times[mode].append(json.loads(done.stdout.splitlines()[-1])["seconds"])
        floor, ours = statistics.median(times["floor"]), statistics.median(times["agrolake"])
        rows.append(f"| {estimator} | {ours:.2f} s | {floor:.2f} s | {ours / floor:.1f}× |")
    table = "\n".join(
        [
            "| estimator | agrolake train_wine_quality | floor (split + fit + metrics) | ratio |",
            "|---|---:|---:|---:|",
            *rows,
        ]
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

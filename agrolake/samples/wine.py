"""The real UCI red wine quality data, in either form users drop in the lake."""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

from agrolake.datasets.builtin.lab_wine_quality import FEATURES, TARGET

# The shipped file's header: the dataset's raw columns, as UCI names them.
WINE_COLUMNS = [*FEATURES, TARGET]


def _wine_lines() -> list[str]:
    # importlib.resources keeps working when agrolake is installed as a wheel.
    data = resources.files("agrolake").joinpath("data/wine_quality/winequality-red.csv")
    return data.read_text(encoding="utf-8").splitlines()


def write_wine_quality(
    path: Path,
    *,
    rows: int | None = None,
    seed: int = 0,
    delimiter: str = ",",
    quoted_header: bool = False,
) -> Path:
    """Write the bundled red wine quality data (Cortez et al. 2009, UCI id 186, CC BY 4.0).

    ``rows=None`` writes all 1,599 samples in their original order (``seed`` is
    then irrelevant). Otherwise a deterministic selection of ``rows`` samples
    in file order: without replacement up to 1,599, with replacement (a
    bootstrap resample) beyond. ``delimiter=";", quoted_header=True`` gives
    the original UCI download form (``"fixed acidity";"volatile acidity";...``).
    """
    path = Path(path)
    header, *body = _wine_lines()
    names = header.split(",")
    if rows is not None:
        rng = random.Random(f"{seed}:wine")
        picks = (
            rng.sample(range(len(body)), rows)
            if rows <= len(body)
            else rng.choices(range(len(body)), k=rows)
        )
        body = [body[i] for i in sorted(picks)]
    head = delimiter.join(f'"{n}"' if quoted_header else n for n in names)
    lines = [head] + [delimiter.join(line.split(",")) for line in body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    return path

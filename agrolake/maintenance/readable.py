"""Which table versions must stay readable, and why.

* every version of the last ``AGROLAKE_KEEP_VERSIONS_DAYS`` days (``table_upkeep`` keeps
  the version current at the cutoff and every file written since);
* every version a registered model version was trained on: the MLflow run tags
  ``agrolake.table``/``agrolake.table_version`` of every model version in the registry,
  and every training the catalog recorded (``training_runs``);
* every version a lineage record points to from a version pinned so: the input versions
  a refined version a model was trained on was built from (and theirs, in turn), so the
  model's data can be traced and rebuilt from the very rows it came from.

The window is per table: a refined version of the last days keeps its own files, not its
inputs' (they are kept for the same days by their own table's window).
"""

from __future__ import annotations

from collections import defaultdict

from agrolake.lake import Lake
from agrolake.ml.registry_pins import trained_table_versions

#: table → version → why it must stay readable
Pins = dict[str, dict[int, list[str]]]


def pinned_versions(lake: Lake) -> Pins:
    """The versions models and lineage need, with the reasons, for every table."""
    pins: defaultdict[str, defaultdict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for table, version, why in trained_table_versions(lake.settings):
        pins[table][version].append(why)
    for table, version, why in lake.catalog.upkeep.trained():
        pins[table][version].append(why)
    history = lake.catalog.lineage.history()
    roots = [(t, v) for t, versions in pins.items() for v in versions]
    recorded = {(t, v.version): v for t, versions in history.items() for v in versions}
    seen: set[tuple[str, int]] = set()
    while roots:
        table, version = roots.pop()
        if (table, version) in seen or (record := recorded.get((table, version))) is None:
            continue
        seen.add((table, version))
        for source, read in record.inputs.items():
            pins[source][read].append(f"read by {table} v{version}")
            roots.append((source, read))
    return {t: {v: sorted(set(why)) for v, why in versions.items()} for t, versions in pins.items()}

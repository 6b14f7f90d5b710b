"""What trusted's spool copy of a small raw object costs on S3, against reading it from
memory.

On a SeaweedFS this script starts, ``--files`` 20-row wine CSVs are put in a bucket.
Then, in one process, each way three times (medians):

* ``memory``: GET every object (8 at a time, as trusted does) and parse each from its
  bytes (``pl.read_csv``);
* ``spool``: GET every object the same way, write each to a spool file, and parse each
  from its file (``pl.scan_csv(path).collect()``, what ``read_frame`` does);
* ``get only``: the GETs alone.

The spool copy costs ``spool − memory``. A script, not a test: it asserts nothing.

    .venv/bin/python -m bench.raw_spool --files 1000
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.landing import s3_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import polars as pl

    from agrolake.lake.overlap import overlapped
    from agrolake.lake.settings import Settings
    from agrolake.lake.storage import ObjectStore
    from agrolake.samples import write_wine_quality
    from tests.services import start_seaweedfs

    with tempfile.TemporaryDirectory(prefix="agrolake-bench-spool-") as folder:
        work = Path(folder)
        server = start_seaweedfs(work / "s3")
        try:
            for name, value in s3_env(server, "spool").items():
                os.environ[name] = value
            settings = Settings(home=work / "home")
            store = ObjectStore(settings)
            store.ensure_buckets()
            keys = []
            for i in range(args.files):
                path = write_wine_quality(work / f"w{i}.csv", rows=20, seed=i)
                store.put("raw", f"lab/w{i}.csv", path)
                keys.append(f"lab/w{i}.csv")
            spool = work / "spool"
            spool.mkdir()

            def get(key: str) -> bytes:
                return store.read("raw", key)

            def spooled(key: str) -> Path:
                path = spool / key.replace("/", "_")
                path.write_bytes(store.read("raw", key))
                return path

            ways = {
                "get only": lambda: overlapped(get, keys, 8),
                "memory": lambda: [
                    pl.read_csv(io.BytesIO(data)) for data in overlapped(get, keys, 8)
                ],  # type: ignore[arg-type]
                "spool": lambda: [
                    pl.scan_csv(path).collect() for path in overlapped(spooled, keys, 8)
                ],  # type: ignore[arg-type]
            }
            times: dict[str, list[float]] = {k: [] for k in ways}
            for _ in range(args.repeat):
                for name, way in ways.items():
                    started = time.perf_counter()
                    way()
                    times[name].append(time.perf_counter() - started)
        finally:
            server.stop()
    load = os.getloadavg()[0]
    print(
        f"{args.files:,} objects of ~1.4 KB on SeaweedFS, medians of {args.repeat}, load {load:.1f}"
    )
    for name, runs in times.items():
        shown = ", ".join(f"{t:.2f}" for t in runs)
        print(f"| {name} | {statistics.median(runs):.2f} s | {shown} |")


if __name__ == "__main__":
    main()

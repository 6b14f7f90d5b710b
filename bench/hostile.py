"""Hostile files: peak RSS per case against the memory bound, and what the bounds cost.

Three parts, each measurement in a fresh child process (the script calls itself):

1. **Peak RSS per hostile case**: the corpus of ``tests/hostile.py`` at its limits
   (``CORPUS_LIMITS``), and full-size cases at the default limits (a 15 M-row
   workbook without a ``<dimension>``, so found by the scan; a 70 MB JSON; a Parquet
   row group of ~300 MB). Measured as ``tests/readers/memory_probe.py`` does: the
   reading process's VmHWM, and the reader child's (its own VmHWM, or sampled
   every 2 ms when it was killed by its bound).
2. **Isolation**: starting the reader child, and a workbook read through it
   against the same read in process (``sample_workbook`` / the sheet loaded whole).
3. **Whole-file text check**: ``profile_text`` over a 200 MB CSV against a bare
   read of the same file and a SHA-256 pass (what landing's spooling does anyway).

Medians over ``--repeat`` runs; the load average is printed with each part.

    .venv/bin/python -m bench.hostile                  # full run (~5 min)
    .venv/bin/python -m bench.hostile --quick          # corpus and costs; no full-size cases

This is a script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/hostile.py
    sys.path.insert(0, str(ROOT))

from agrolake.readers.workbook_archive import column_name  # noqa: E402
from bench.facts import machine, revision  # noqa: E402
from tests import hostile  # noqa: E402

MIB = 1024 * 1024
DEFAULTS: dict[str, Any] = {}


def _child(*args: str) -> list[dict[str, Any]]:
    """Run this script with ``args`` in a fresh process; its JSON lines."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.hostile", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- 1. peak RSS


def _numbered_rows(rows: int) -> Iterator[str]:
    """A header and ``rows`` rows of 4 numbers, no <dimension>: a scan must find the span."""
    yield hostile.row(1, *(hostile.cell(f"{c}1", c) for c in "ABCD"))
    for n in range(2, rows + 2):
        cells = "".join(
            f'<c r="{c}{n}"><v>{v}</v></c>' for c, v in zip("ABCD", (n, 1, 2, 3), strict=True)
        )
        yield f'<row r="{n}">{cells}</row>'


FULL_SIZE: dict[str, tuple[str, Callable[[Path], object]]] = {
    "filas_15m.xlsx": (
        "15 M rows × 4, no <dimension> (inflates to 1.9 GB)",
        lambda p: hostile.write_xlsx(p, _numbered_rows(15_000_000)),
    ),
    "filas_1_5m.xlsx": (
        "1.5 M rows × 4, no <dimension> (inflates to 190 MB): the scan finds 6 M cells",
        lambda p: hostile.write_xlsx(p, _numbered_rows(1_500_000)),
    ),
    "enorme_70mb.json": ("70 MB of records", lambda p: _records(p, 900_000)),
    "json_60mb.json": (
        "60 MB of records: accepted, the largest in-process read",
        lambda p: _records(p, 730_000),
    ),
    "grupo_300mb.parquet": ("one row group of ~310 MB", lambda p: _big_row_group(p)),
}


def _records(path: Path, count: int) -> None:
    record = {"fecha": "2024-03-01", "indicativo": "9434", "tmed": "10,2", "prec": "0,0"}
    path.write_text(json.dumps([record] * count))


def _big_row_group(path: Path) -> None:
    import polars as pl

    frame = pl.select(pl.format("valor distinto {}", pl.int_range(12_000_000)).alias("v"))
    frame.write_parquet(path, row_group_size=20_000_000, compression="zstd")


def peak_rss(folder: Path, quick: bool) -> list[dict[str, Any]]:
    corpus = folder / "corpus"
    hostile.build(corpus)
    results = []
    for case, path in hostile.build(corpus):
        [m] = _child("--measure", str(path), json.dumps(hostile.CORPUS_LIMITS))
        results.append({"name": case.name, "what": case.what, "limits": "corpus", **m})
    if not quick:
        for name, (what, write) in FULL_SIZE.items():
            path = folder / name
            if not path.exists():
                write(path)
            [m] = _child("--measure", str(path), "{}")
            results.append({"name": name, "what": what, "limits": "default", **m})
    return results


def measure_one(path: Path, limits_json: str) -> None:
    from agrolake.readers import ReaderLimits
    from tests.readers.memory_probe import ChildSampler, measure

    sampler = ChildSampler()
    sampler.start()
    result = measure(path, ReaderLimits(**json.loads(limits_json)), sampler)
    print(json.dumps({**result, "size": path.stat().st_size}))


# --------------------------------------------------------------------------- 2. isolation


def _sheet(path: Path, rows: int) -> Path:
    header = hostile.row(1, *(hostile.cell(f"{column_name(i)}1", f"c{i}") for i in range(10)))

    def body() -> Iterator[str]:
        for n in range(2, rows + 2):
            text = [hostile.cell(f"{column_name(i)}{n}", f"v{n % 97}-{i}") for i in range(5)]
            numbers = [f'<c r="{column_name(i)}{n}"><v>{n * i}.5</v></c>' for i in range(5, 10)]
            yield hostile.row(n, *text, *numbers)

    return hostile.write_xlsx(path, [header, *body()], dimension=f"A1:J{rows + 1}")


def isolation(folder: Path, repeat: int) -> list[dict[str, Any]]:
    from agrolake.samples import write_parcels_and_treatments

    files = {
        "parcels workbook (40 rows)": write_parcels_and_treatments(
            folder / "p.xlsx", rows=40, seed=1
        ),
        "20,000 rows × 10": _sheet(folder / "m.xlsx", 20_000),
        "200,000 rows × 10": _sheet(folder / "l.xlsx", 200_000),
    }
    results = []
    for name, path in files.items():
        runs = [_child("--isolation", str(path))[0] for _ in range(repeat)]
        merged = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        results.append({"file": name, "size": path.stat().st_size, **merged})
    return results


def isolation_one(path: Path) -> None:
    from agrolake.lake.read_options import ReadOptions
    from agrolake.readers import ReaderLimits, read_frame, read_sample, stop_worker
    from agrolake.readers.isolation import run_isolated, worker_peak_rss
    from agrolake.readers.workbook_sheets import sample_workbook

    limits = ReaderLimits()
    fmt = "xlsx"
    timed: dict[str, float] = {}

    def clock(name: str, work: Callable[[], object]) -> None:
        started = time.perf_counter()
        work()
        timed[name] = time.perf_counter() - started

    import fastexcel

    sample_workbook(path, fmt, limits)  # warm: imports, page cache
    clock("sample_in_process", lambda: sample_workbook(path, fmt, limits))
    clock(
        "frame_in_process",
        lambda: fastexcel.read_excel(path).load_sheet(0, dtypes="string").to_polars(),
    )
    stop_worker()
    clock("child_start", lambda: run_isolated("ready", (), limits))
    rest = worker_peak_rss()
    clock("sample_isolated", lambda: read_sample(path, path.name, limits))
    clock("frame_isolated", lambda: read_frame(path, ReadOptions(fmt), None).collect())
    stop_worker()
    print(json.dumps({**timed, "child_rss_at_rest": rest}))


# --------------------------------------------------------------------------- 3. text check


def text_check(folder: Path, repeat: int, size: int) -> dict[str, Any]:
    from agrolake.samples.activities import write_bulk_csv

    path = folder / f"bulk-{size // 1_000_000}mb.csv"
    if not path.exists():
        write_bulk_csv(path, target_bytes=size, seed=1)
    runs = [_child("--text", str(path))[0] for _ in range(repeat)]
    return {
        "size": path.stat().st_size,
        **{k: statistics.median(r[k] for r in runs) for k in runs[0]},
    }


def text_one(path: Path) -> None:
    from agrolake.readers import ReaderLimits
    from agrolake.readers.text_profile import profile_text

    head = path.open("rb").read(MIB)
    timed = {}
    for name, work in (
        ("bare_read", lambda: _read_all(path, lambda _: None)),
        ("sha256", lambda: _read_all(path, hashlib.sha256().update)),
        ("profile_text", lambda: profile_text(path, head, ReaderLimits())),
    ):
        started = time.perf_counter()
        work()
        timed[name] = time.perf_counter() - started
    print(json.dumps(timed))


def _read_all(path: Path, use: Callable[[bytes], object]) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            use(chunk)


# --------------------------------------------------------------------------- report


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _mib(n: float) -> str:
    return f"{n / MIB:,.0f} MiB" if n else "–"


def report(
    rss: list[dict[str, Any]], iso: list[dict[str, Any]], text: dict[str, Any], loads: list[str]
) -> str:
    out = [f"Commit {revision()}; {machine(['polars', 'fastexcel'])}.", ""]
    out += [f"Peak RSS per case ({loads[0]}):", ""]
    out += _table(
        ["case", "limits", "code", "reading process", "reader child", "s"],
        [
            [f"`{r['name']}`: {r['what']}", r["limits"], f"`{r['code']}`", _mib(r["parent"]),
             _mib(r["child"]), f"{r['seconds']:.2f}"]
            for r in rss
        ],
    )  # fmt: skip
    out += ["", f"Isolation, medians ({loads[1]}):", ""]
    out += _table(
        ["workbook", "child start", "sample in process", "sample isolated", "sheet in process",
         "sheet isolated (Parquet, collected)", "child RSS at rest"],
        [
            [f"{r['file']} ({r['size'] / 1e6:.1f} MB)", f"{r['child_start']:.2f} s",
             f"{r['sample_in_process']:.3f} s", f"{r['sample_isolated']:.3f} s",
             f"{r['frame_in_process']:.3f} s", f"{r['frame_isolated']:.3f} s",
             _mib(r["child_rss_at_rest"])]
            for r in iso
        ],
    )  # fmt: skip
    out += ["", f"Whole-file text check of a {text['size'] / 1e6:.0f} MB CSV ({loads[2]}):", ""]
    out += _table(
        ["bare read", "SHA-256 pass", "`profile_text`"],
        [[f"{text[k]:.2f} s" for k in ("bare_read", "sha256", "profile_text")]],
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="no full-size cases, 1 run, 50 MB CSV")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="where inputs are written (kept)")
    parser.add_argument("--out", type=Path, help="write the Markdown report here too")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--isolation", help=argparse.SUPPRESS)
    parser.add_argument("--text", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure_one(Path(args.measure[0]), args.measure[1])
    if args.isolation:
        return isolation_one(Path(args.isolation))
    if args.text:
        return text_one(Path(args.text))
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    repeat = 1 if args.quick else args.repeat
    loads = [load()]
    rss = peak_rss(folder, args.quick)
    loads.append(load())
    iso = isolation(folder, repeat)
    loads.append(load())
    text = text_check(folder, repeat, 50_000_000 if args.quick else 200_000_000)
    markdown = report(rss, iso, text, loads)
    print(markdown)
    if args.out:
        args.out.write_text(markdown + "\n")
    if args.json:
        args.json.write_text(
            json.dumps({"rss": rss, "isolation": iso, "text": text, "loads": loads}, indent=1)
        )


if __name__ == "__main__":
    main()

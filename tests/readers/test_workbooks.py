"""Workbooks: spans found before calamine runs, and calamine run in a bounded child."""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import fastexcel
import pytest

from agrolake.errors import AgrolakeError, FileRejected
from agrolake.lake.read_options import ReadOptions
from agrolake.readers import ReaderLimits, read_frame, read_sample, spool_folder, stop_worker
from agrolake.readers.isolation import run_isolated
from agrolake.readers.workbook_archive import SheetSpan, sheet_span
from agrolake.samples import write_parcels_and_treatments
from tests.hostile import cell, row, write_xlsx


@pytest.fixture(autouse=True)
def fresh_worker() -> Iterator[None]:
    """Each test starts and leaves without a reader child."""
    stop_worker()
    yield
    stop_worker()


def _span(path: Path) -> SheetSpan | None:
    with zipfile.ZipFile(path) as book:
        return sheet_span(book, "xl/worksheets/sheet1.xml")


def test_a_sheet_spans_from_its_first_to_its_last_cell_with_or_without_dimension(
    tmp_path: Path,
) -> None:
    rows = [row(3, cell("B3", "a")), row(10, cell("C10", "b"), cell("D10", "c"))]
    scanned = _span(write_xlsx(tmp_path / "scan.xlsx", rows))
    declared = _span(write_xlsx(tmp_path / "dim.xlsx", rows, dimension="B3:D10"))
    assert scanned == declared == SheetSpan(2, 9, 1, 3)
    assert (str(scanned), scanned.cells if scanned else 0) == ("B3:D10", 24)


def test_a_workbook_larger_than_the_limit_is_rejected_before_calamine_reads_it(
    tmp_path: Path,
) -> None:
    path = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=20, seed=1)
    assert read_sample(path, path.name).table("Parcelas") is not None
    with pytest.raises(FileRejected) as too_large:
        read_sample(path, path.name, ReaderLimits(max_workbook_cells=50))
    assert too_large.value.code == "workbook_too_large"
    assert too_large.value.details["setting"] == "AGROLAKE_MAX_WORKBOOK_CELLS"


def test_a_child_past_its_memory_bound_rejects_its_file_and_the_next_child_reads_on(
    tmp_path: Path,
) -> None:
    liar = write_xlsx(
        tmp_path / "liar.xlsx",
        [row(1, cell("A1", "Finca")), row(1048576, cell("XFD1048576", "x"))],
        dimension="A1:B2",
    )
    good = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=20, seed=1)
    with pytest.raises(FileRejected) as memory:
        read_sample(liar, liar.name)
    assert memory.value.code == "reader_memory_exceeded"
    assert "549,755,813,888 bytes" in memory.value.reason  # what calamine asked for
    assert memory.value.details["setting"] == "AGROLAKE_READER_MEMORY_MB"
    assert read_sample(good, good.name).table("Parcelas") is not None


def test_a_read_over_the_time_limit_is_stopped_and_the_next_child_reads_on(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "never.xls"
    os.mkfifo(fifo)  # opening it for reading waits for a writer that never comes
    limits = ReaderLimits(reader_timeout_seconds=1)
    with pytest.raises(FileRejected) as stopped:
        run_isolated("sample_workbook", (fifo, "xls", limits), limits)
    assert stopped.value.code == "reader_timeout"
    good = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=20, seed=1)
    assert read_sample(good, good.name, limits).table("Parcelas") is not None


def test_a_child_that_cannot_start_is_no_fault_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    good = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=20, seed=1)
    with pytest.raises(AgrolakeError) as failed:
        read_sample(good, good.name)
    assert not isinstance(failed.value, FileRejected), "a transient error, not a rejection"
    assert "could not start" in failed.value.message


def test_a_sheet_read_whole_in_the_child_equals_the_sheet_read_here(tmp_path: Path) -> None:
    path = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=30, seed=2)
    frame = read_frame(path, ReadOptions("xlsx"), "tratamientos").collect()
    here = fastexcel.read_excel(path).load_sheet("Tratamientos", dtypes="string").to_polars()
    assert frame.columns == [c.strip() for c in here.columns]
    assert frame.rows() == here.rows()


def test_sheet_files_stay_readable_for_a_few_more_reads_then_go(tmp_path: Path) -> None:
    path = write_parcels_and_treatments(tmp_path / "parcelas.xlsx", rows=5, seed=3)
    frames = [read_frame(path, ReadOptions("xlsx"), "Parcelas") for _ in range(spool_folder.KEEP)]
    assert all(f.collect().height == 5 for f in frames)
    read_frame(path, ReadOptions("xlsx"), "Parcelas")
    assert len(list(spool_folder._own_folder().iterdir())) == spool_folder.KEEP
    with pytest.raises(Exception, match=r"No such file|not found"):
        frames[0].collect()

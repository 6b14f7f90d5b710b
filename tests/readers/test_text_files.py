"""Delimited text checked whole: encodings, line ends, line lengths, quotes, NULs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agrolake.errors import FileRejected
from agrolake.lake.read_options import LONE_CR, ReadOptions
from agrolake.readers import ReaderLimits, read_frame, read_sample
from agrolake.readers.text_profile import profile_text

HEADER = "FECHA,TAREA,PARCELA,RECINTO ID"
SMALL = ReaderLimits(max_line_kb=64)  # chunks of 64 KiB: boundaries are easy to reach
KIB = 1024


def profile(path: Path, limits: ReaderLimits = SMALL):  # type: ignore[no-untyped-def]
    return profile_text(path, path.read_bytes()[: 1024 * KIB], limits)


def rejected(path: Path, limits: ReaderLimits = SMALL) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        read_sample(path, path.name, limits)
    assert "\n" not in caught.value.reason
    return caught.value


def test_a_crlf_cut_between_two_chunks_is_one_line_end(tmp_path: Path) -> None:
    first = HEADER + "\r\n" + "x" * (64 * KIB - len(HEADER) - 3) + "\r"
    path = tmp_path / "crlf.csv"
    path.write_bytes((first + "\n1,2,3,4\r\n").encode())
    assert len(first) == 64 * KIB  # the CR ends the first chunk, its LF starts the second
    found = profile(path)
    assert (found.newline, found.lines) == (None, 3)


@pytest.mark.parametrize("offset", [0, 100, 64 * KIB - 1])
def test_a_line_may_be_as_long_as_the_limit_and_no_longer(tmp_path: Path, offset: int) -> None:
    lead = "a" * offset + "\n" if offset else ""
    path = tmp_path / "long.csv"
    path.write_text(lead + "b" * 64 * KIB + "\nc\n")
    assert profile(path).lines == (3 if offset else 2)
    path.write_text(lead + "b" * (64 * KIB + 1) + "\nc\n")
    too_long = rejected(path)
    assert too_long.code == "line_too_long"
    assert too_long.details == {"setting": "AGROLAKE_MAX_LINE_KB", "line": 2 if offset else 1}


def test_lone_crs_are_recorded_and_the_rows_read_as_with_lf(tmp_path: Path) -> None:
    def lines(end: str) -> list[str]:
        return [HEADER, "03/04/2024,PODA,LA LOMA,50-1", f'04/04/2024,"RIEGO{end}LARGO",X,50-2']

    lf, cr = tmp_path / "lf.csv", tmp_path / "cr.csv"
    lf.write_bytes(("\n".join(lines("\n")) + "\n").encode("cp1252"))
    cr.write_bytes(("\r".join(lines("\r")) + "\r").encode("cp1252"))
    sample = read_sample(cr, cr.name)
    assert sample.read_options.newline == LONE_CR
    assert ReadOptions.from_details(sample.read_options.as_details()) == sample.read_options
    assert sample.read_options.transcoded
    expected = read_frame(lf, read_sample(lf, lf.name).read_options, None).collect()
    assert read_frame(cr, sample.read_options, None).collect().rows() == expected.rows()
    assert expected.height == 2


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_text_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    text = HEADER + "\n03/04/2024,PODA,Peñíscola,50-1\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "bom.csv"
    path.write_bytes(data)
    sample = read_sample(path, path.name)
    assert sample.tables[0].columns == HEADER.split(",")
    assert read_frame(path, sample.read_options, None).collect().row(0)[2] == "Peñíscola"


def test_a_multibyte_character_cut_by_the_first_mib_is_still_utf8(tmp_path: Path) -> None:
    head = HEADER + "\n"
    filler = "x" * (1024 * KIB - len(head) - 1)  # "ñ" straddles the first MiB
    path = tmp_path / "cut.csv"
    path.write_bytes((head + "03/04/2024,PODA," + filler + "ñ,1\n").encode())
    assert read_sample(path, path.name).options["encoding"] == "utf-8"


def test_an_ascii_mib_then_windows_1252_is_read_as_windows_1252(tmp_path: Path) -> None:
    ascii_rows = "03/04/2024,PODA,LA LOMA,50-1\n" * 40_000
    path = tmp_path / "erp.csv"
    path.write_bytes(
        (HEADER + "\n" + ascii_rows).encode() + "05/04/2024,PODA,Cañada €,50-2\n".encode("cp1252")
    )
    sample = read_sample(path, path.name)
    assert sample.options["encoding"] == "cp1252"
    assert read_frame(path, sample.read_options, None).collect().row(-1)[2] == "Cañada €"


def test_other_bytes_after_a_utf8_mib_are_rejected_with_their_line(tmp_path: Path) -> None:
    utf8_rows = "03/04/2024,PODA,Peñíscola,50-1\n" * 40_000  # past the first MiB
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + "\n" + utf8_rows).encode() + "x,y,Peñíscola,z\n".encode("latin-1"))
    found = rejected(path)
    assert found.code == "bad_encoding"
    assert found.details["line"] == 40_002 and "utf-8" in found.reason


def test_nul_bytes_anywhere_are_binary_data(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER + "\n" + "1,2,3,4\n" * 30_000).encode() + b"1,\x00,3,4\n")
    found = rejected(path)
    assert found.code == "unreadable" and "line 30,002" in found.reason


def test_quotes_closed_on_a_later_line_or_doubled_are_fine_and_an_open_one_is_named(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.csv"
    path.write_text(HEADER + '\n1,"dos\nlíneas",3,"con ""comillas"""\n')
    assert read_sample(path, path.name).tables[0].rows == 1
    path.write_text(HEADER + '\n1,2,3,4\n1,"abierta,3,4\n5,6,7,8\n')
    found = rejected(path)
    assert (found.code, found.details["line"]) == ("unterminated_quote", 3)


def test_rows_times_columns_over_the_limit_are_too_many_cells(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("a,b,c,d\n" + "1,2,3,4\n" * 300)
    assert read_sample(path, path.name, ReaderLimits(max_cells=1204)).tables[0].rows == 300
    found = rejected(path, ReaderLimits(max_cells=1000))
    assert found.code == "too_many_cells" and found.details["setting"] == "AGROLAKE_MAX_CELLS"

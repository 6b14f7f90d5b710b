"""The whole of a text file checked in one streaming pass, before anything trusts it.

Landing reads a sample from the head of a delimited text file; this pass makes
sure the rest holds no surprise for trusted: every byte decodes in the encoding
the head was read in (or in the one the first undecodable bytes point at, when
the head was plain ASCII), no NUL byte, no line over ``AGROLAKE_MAX_LINE_KB``,
no quote left open at the end. It also learns what trusted must know: the line
ends (a lone CR needs rewriting for polars) and the number of lines.

Memory stays at one chunk; the work per chunk is a few C-speed counts.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from agrolake.errors import FileRejected
from agrolake.lake.read_options import LONE_CR
from agrolake.readers.file_sample import bom_encoding
from agrolake.readers.reader_limits import ReaderLimits, over_limit

CHUNK = 1024 * 1024
QUOTE = '"'


@dataclass(frozen=True)
class TextProfile:
    """What the pass learnt: how to decode the file, its line ends and line count."""

    encoding: str
    newline: str | None  # LONE_CR when some line ends with a lone CR
    lines: int  # line breaks: an upper bound of the rows


def guess_encoding(head: bytes, *, complete: bool) -> str:
    """UTF-8 if the head decodes (a byte-order mark wins), else the detector's best guess."""
    marked = bom_encoding(head)
    if marked:
        return marked
    if b"\x00" in head:
        at = head.index(b"\x00")
        raise _binary(at, head.count(b"\n", 0, at) + 1)
    try:
        # Incremental: a head cut inside a multi-byte character is still UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(head).best()
        return best.encoding if best else "cp1252"


def profile_text(path: Path, head: bytes, limits: ReaderLimits) -> TextProfile:
    """Check the whole file at ``path`` (``head`` are its first bytes) and profile it."""
    encoding = guess_encoding(head, complete=path.stat().st_size <= len(head))
    try:
        return _scan(path, encoding, limits)
    except _Undecodable as failure:
        if not (failure.encoding == "utf-8" and failure.ascii_before):
            raise failure.rejection() from None
        first = failure
    # An ASCII head says nothing about the encoding: ERP exports in Windows-1252 often
    # reach their first accented name after the first MiB. A detector has little to go
    # on in a few bytes (it calls Peñíscola cp1250), so cp1252 is tried first.
    for retry in dict.fromkeys(("cp1252", _encoding_of(first.context))):
        if retry and retry != encoding and _ascii_compatible(retry):
            try:
                return _scan(path, retry, limits)
            except _Undecodable:
                continue
    raise first.rejection()


class _Undecodable(Exception):
    def __init__(self, encoding: str, offset: int, line: int, context: bytes, ascii_before: bool):
        super().__init__(encoding)
        self.encoding, self.offset, self.line = encoding, offset, line
        self.context, self.ascii_before = context, ascii_before

    def rejection(self) -> FileRejected:
        return FileRejected(
            f"the bytes near offset {self.offset:,} (line {self.line:,}) are not {self.encoding} "
            "text, which the file is written in before them: it mixes encodings or holds "
            "binary data; export it again in one encoding (UTF-8 is best)",
            code="bad_encoding",
            encoding=self.encoding,
            offset=self.offset,
            line=self.line,
        )


def _encoding_of(data: bytes) -> str | None:
    best = from_bytes(data).best()
    return best.encoding if best else None


def _binary(offset: int, line: int | None = None) -> FileRejected:
    where = f"near offset {offset:,}" + (f" (line {line:,})" if line else "")
    return FileRejected(
        f"the file holds binary data, not delimited text: a NUL byte {where}; UTF-16 text "
        "without a byte-order mark looks like this too: save it as UTF-8",
        code="unreadable",
        offset=offset,
    )


def _scan(path: Path, encoding: str, limits: ReaderLimits) -> TextProfile:
    # Every chunk no longer than the line limit: a line within one chunk cannot be too long.
    size = min(CHUNK, limits.max_line_bytes)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = _Lines(limits)
    offset, ascii_before = 0, True
    # ASCII chunks skip the decoder, until the first that is not ASCII (the decoder may
    # then hold the start of a character for the next chunk).
    fast = _ascii_compatible(encoding)
    with path.open("rb") as handle:
        while True:
            raw = handle.read(size)
            try:
                if not raw:
                    text = decoder.decode(b"", final=True)
                elif fast and raw.isascii():
                    text = raw.decode("ascii")
                else:
                    fast, text = False, decoder.decode(raw)
            except UnicodeDecodeError as exc:
                at = max(exc.start, 0)
                context = raw[max(at - 4096, 0) : at + 4096]
                plain = ascii_before and raw[:at].isascii()
                line = lines.count + raw.count(b"\n", 0, at) + 1
                raise _Undecodable(encoding, offset + at, line, context, plain) from None
            ascii_before = ascii_before and raw.isascii()
            lines.feed(text, offset)
            offset += len(raw)
            if not raw:
                break
    if lines.quotes % 2:
        raise _open_quote(path, encoding, lines.last_quote)
    return TextProfile(encoding, LONE_CR if lines.lone_cr else None, lines.count)


def _ascii_compatible(encoding: str) -> bool:
    """Whether ASCII text is the same bytes in ``encoding`` (not so in UTF-16 or EBCDIC)."""
    sample = 'a,;\t|"\r\n'
    try:
        return codecs.getincrementalencoder(encoding)().encode(sample) == sample.encode()
    except LookupError:
        return False


class _Lines:
    """Line ends, line lengths, NULs and quotes over the decoded text, chunk by chunk."""

    def __init__(self, limits: ReaderLimits) -> None:
        self.limits = limits
        self.count = 0  # line breaks so far: LF, CRLF (as one) and lone CR
        self.lone_cr = 0
        self.quotes = 0
        self.last_quote = -1  # index in the text of the last quote seen
        self.run = 0  # length of the line in progress
        self.chars = 0
        self.ends_with_cr = False

    def feed(self, text: str, offset: int) -> None:
        if "\x00" in text:
            at = text.index("\x00")
            raise _binary(offset + at, self.count + text.count("\n", 0, at) + 1)
        lf, cr = text.count("\n"), text.count("\r")
        crlf = text.count("\r\n") if cr else 0
        if self.ends_with_cr and text.startswith("\n"):
            crlf += 1  # a CRLF cut between two chunks
        self._check_length(text, cr)
        self.count += lf + cr - crlf
        self.lone_cr += cr - crlf
        quotes = text.count(QUOTE)
        if quotes:
            self.quotes += quotes
            self.last_quote = self.chars + text.rindex(QUOTE)
        self.chars += len(text)
        self.ends_with_cr = text.endswith("\r")

    def _check_length(self, text: str, cr: int) -> None:
        breaks = [i for i in (text.find("\n"), text.find("\r") if cr else -1) if i >= 0]
        self.run += min(breaks) if breaks else len(text)
        if self.run > self.limits.max_line_bytes:
            raise over_limit(
                "line_too_long",
                f"line {self.count + 1:,} is longer than {self.limits.max_line_kb:,} KiB",
                "max_line_kb",
                f"{self.limits.max_line_kb:,} KiB",
                line=self.count + 1,
            )
        if breaks:
            self.run = len(text) - max(text.rfind("\n"), text.rfind("\r")) - 1


def _open_quote(path: Path, encoding: str, position: int) -> FileRejected:
    """The rejection of a quote never closed: the last quote of the file opened it."""
    line, seen = 1, 0
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            text = decoder.decode(chunk)
            if seen + len(text) > position:
                text = text[: position - seen]
                line += text.count("\n") + text.count("\r") - text.count("\r\n")
                break
            line += text.count("\n") + text.count("\r") - text.count("\r\n")
            seen += len(text)
    return FileRejected(
        f'the quote (") opened on line {line:,} is never closed: the rest of the file would '
        'read as one cell; close it, or double quotes inside a cell ("")',
        code="unterminated_quote",
        line=line,
    )

"""File readers: a landing file's structure (``read_sample``), a raw file whole
(``read_frame``), each within the reader bounds of docs/limits.md."""

from agrolake.readers.file_reading import read_frame, read_sample
from agrolake.readers.file_sample import FileSample, Table, detect_format
from agrolake.readers.isolation import stop_worker
from agrolake.readers.reader_limits import ReaderLimits

__all__ = [
    "FileSample",
    "ReaderLimits",
    "Table",
    "detect_format",
    "read_frame",
    "read_sample",
    "stop_worker",
]

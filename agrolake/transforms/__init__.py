"""Reusable, pure polars tools for cleaning and enriching: parsers (decimal commas,
dates, booleans, times), SIGPAC identifiers, the row error protocol and the split
into valid and quarantined rows, cleaning by distinct value, and the digital
twin's builders. No I/O: frames in, frames out (import-linter checks it)."""

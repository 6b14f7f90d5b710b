"""Dataset declaration files: YAML in a folder or under an ``s3://`` prefix.

A file holds one dataset (the shape of :class:`~agrolake.datasets.model.Dataset`,
documented by ``docs/dataset-declaration.schema.json``). A file that does not
parse or validate is reported as one :class:`Problem` naming the file, the key
and what is wrong; it never stops the other files. Files are read on every load
(a handful of small files), so an edit counts at the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agrolake.datasets.model import Dataset
from agrolake.errors import StorageError, StorageUnavailable, UsageError
from agrolake.lake.settings import Settings

SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1024 * 1024  # a declaration is a page of text, not a data file


@dataclass(frozen=True)
class Problem:
    """Why a declaration was not loaded: ``file``, the ``key`` at fault, ``message``."""

    file: str
    key: str
    message: str

    def line(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


def _folder(settings: Settings) -> tuple[Any, str, str]:
    """The store holding the declarations, the prefix inside it, and its address."""
    from obstore.store import LocalStore, S3Store

    url = settings.declarations
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Store(bucket, **settings.s3.to_obstore()), prefix.strip("/"), url.rstrip("/")
    path = Path(url.removeprefix("file://"))
    path.mkdir(parents=True, exist_ok=True)
    return LocalStore(path), "", str(path)


def declaration_files(settings: Settings) -> Iterator[tuple[str, bytes]]:
    """(address, bytes) of each declaration file, in name order.

    A store that cannot be read raises: landing must not treat every file as
    unknown because the declarations were out of reach for a moment.
    """
    import obstore
    from obstore import exceptions as obs_errors

    store, prefix, where = _folder(settings)
    try:
        found = [
            meta
            for batch in obstore.list(store, prefix=prefix or None, chunk_size=1000)
            for meta in batch
            if str(meta["path"]).lower().endswith(SUFFIXES)
        ]
        for meta in sorted(found, key=lambda m: str(m["path"])):
            key = str(meta["path"])
            address = f"{where}/{key.removeprefix(prefix).lstrip('/')}"
            if int(meta["size"]) > MAX_FILE_BYTES:
                yield address, b""  # reported as a problem by parse_declaration
                continue
            yield address, bytes(obstore.get(store, key).bytes())
    except (obs_errors.PermissionDeniedError, obs_errors.UnauthenticatedError) as exc:
        raise StorageError(f"reading the dataset declarations in {where}: access denied") from exc
    except (obs_errors.BaseError, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageUnavailable(f"reading the dataset declarations in {where}: {detail}") from exc


def parse_declaration(address: str, data: bytes) -> Dataset | Problem:
    """The dataset a file declares, or the problem that keeps it out."""
    if not data.strip():
        return Problem(address, "", f"empty, or over {MAX_FILE_BYTES // 1024} KiB")
    try:
        document = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Problem(address, "", "not UTF-8 text")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Problem(address, where, f"invalid YAML: {reason}")
    if not isinstance(document, dict):
        return Problem(address, "", "must be a mapping of keys (id, files, tables, …)")
    for python_only in ("origin",):
        document.pop(python_only, None)
    try:
        dataset = Dataset.model_validate(document)
    except ValidationError as exc:
        return _problem(address, document, exc)
    return dataset.model_copy(update={"origin": address})


def _problem(address: str, document: dict[str, Any], exc: ValidationError) -> Problem:
    errors = exc.errors()
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = _message(first)
    return Problem(address, _key(first["loc"], document), message + more)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    if error["type"] == "missing":
        return "missing"
    text = str(error["msg"]).removeprefix("Value error, ")
    shown = error.get("input")
    if error["type"].startswith(("literal_error", "string_pattern", "int_", "float_", "bool_")):
        text += f", not {shown!r}"
    return text


def _key(loc: tuple[Any, ...], document: Any) -> str:
    """``tables[0].fields[2] (weight_kg).type``: the path, with fields named."""
    text = ""
    node = document
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
            inside = isinstance(node, list | tuple) and 0 <= step < len(node)
            node = node[step] if inside else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                text += f" ({node['name']})"
        else:
            text += ("." if text else "") + str(step)
            node = node.get(step) if isinstance(node, dict) else None
    return text or "(top)"


TABLE_ORDER = ("name", "sheet", "key", "write", "evolution", "partition_by", "fields")
FIELD_ORDER = ("name", "source", "type")


def to_yaml(dataset: Dataset, header: str = "") -> str:
    """A declaration file for ``dataset``: defaults left out but for each field's type
    and the files it comes in, tables' keys before their fields."""
    data = dataset.model_dump(mode="json", exclude_defaults=True, exclude={"origin"})
    data["files"] = dataset.files.model_dump(mode="json", exclude_defaults=False)
    tables = []
    for table, model in zip(data.get("tables", []), dataset.tables, strict=True):
        if len(dataset.tables) == 1 and table.get("name") == dataset.id:
            del table["name"]  # the default: the id, once is enough
        table["fields"] = [
            _ordered({**f, "type": m.type}, FIELD_ORDER)
            for f, m in zip(table["fields"], model.fields, strict=True)
        ]
        for field in table["fields"]:
            if len(field.get("format", ())) == 1:
                field["format"] = field["format"][0]
        tables.append(_ordered(table, TABLE_ORDER))
    data["tables"] = tables
    data = _ordered(data, ("id", "description", "provider", "version", "enabled", "files"))
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return (header.rstrip() + "\n" if header else "") + text


def _ordered(mapping: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    return {
        **{k: mapping[k] for k in first if k in mapping},
        **{k: v for k, v in mapping.items() if k not in first},
    }


def write_declaration(
    settings: Settings, dataset: Dataset, text: str, out: str | None, *, replace: bool = False
) -> str:
    """Write ``<id>.yaml`` into ``out`` (default: the datasets folder); its address.

    An existing file of that name is kept unless ``replace``: a user's edits are
    never overwritten by a second inference.
    """
    import obstore
    from obstore import exceptions as obs_errors

    if out is not None:
        settings = settings.model_copy(update={"datasets_dir": out})
    store, prefix, where = _folder(settings)
    name = f"{dataset.id}.yaml"
    key = f"{prefix}/{name}" if prefix else name
    try:
        obstore.put(store, key, text.encode(), mode="overwrite" if replace else "create")
    except (obs_errors.AlreadyExistsError, obs_errors.PreconditionError, FileExistsError):
        raise UsageError(f"{where}/{name} exists; --force replaces it") from None
    except (obs_errors.BaseError, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"writing {where}/{name}: {detail}") from exc
    return f"{where}/{name}"

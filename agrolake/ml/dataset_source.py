"""The source of a run's training data: a version of one of the lake's Delta tables.

MLflow's own ``delta_table`` source loads through Spark, which agrolake does not have;
this one (type ``agrolake_delta``) loads through delta-rs, the engine the lake writes
with. MLflow finds it through the ``mlflow.dataset_source`` entry point (pyproject.toml),
so ``mlflow.data.get_source(run.inputs.dataset_inputs[0].dataset).load()`` gives the
rows a model was trained on, as a pandas DataFrame, in any process with agrolake
installed. (A plugin cannot take the name ``delta_table``: MLflow registers its own
after the plugins and looks them up newest first.) S3 tables take the keys from
agrolake's settings (``AGROLAKE_S3_*``, ``.env``) unless ``storage_options`` are given.
"""

from __future__ import annotations

from typing import Any

from mlflow.data.dataset_source import DatasetSource


class LakeDeltaSource(DatasetSource):
    """Delta table ``path`` (a file or ``s3://`` URI) at ``version`` (None: the latest)."""

    def __init__(self, path: str, version: int | None = None, table: str | None = None) -> None:
        self.path = path
        self.version = version
        self.table = table

    @staticmethod
    def _get_source_type() -> str:
        return "agrolake_delta"

    def load(self, storage_options: dict[str, str] | None = None, **_: Any) -> Any:
        """The table version's rows as a pandas DataFrame (delta-rs, no Spark)."""
        from deltalake import DeltaTable

        if storage_options is None and self.path.startswith("s3://"):
            from agrolake.lake.settings import load_settings

            storage_options = load_settings().s3.to_delta()
        table = DeltaTable(self.path, version=self.version, storage_options=storage_options)
        return table.to_pandas()

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # made explicitly by training, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> LakeDeltaSource:
        raise NotImplementedError("LakeDeltaSource is created explicitly")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "version": self.version, "table": self.table}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> LakeDeltaSource:
        return cls(source_dict["path"], source_dict.get("version"), source_dict.get("table"))

"""The laptop: parquet tables and a SQLite MLflow store under ``.local/``, local Spark."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from ..config import Names
from ..errors import Refusal
from .base import Runtime
from .spark_session import local_spark

try:
    import fcntl
except ImportError:  # Windows: no flock, so local runs there are not locked
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
LOCK_FILE = "lock"
STORE_FILE = "mlflow.db"


class LocalStateError(Refusal):
    """``.local/`` is busy with another run, or its MLflow store is unusable."""


class LocalRuntime(Runtime):
    """Parquet tables and a SQLite MLflow store under ``root`` (default ``.local``)."""

    def __init__(self, root: str | Path = ".local", spark: SparkSession | None = None) -> None:
        # Absolute, because the JVM resolves relative paths against its own start directory.
        self.root = Path(root).resolve()
        self._spark = spark
        # There is no job run locally; values are kept so callers and tests can read them.
        self.task_values: dict[str, Any] = {}

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = local_spark()
        return self._spark

    def choose(self, local: T, databricks: T) -> T:
        return local

    @contextlib.contextmanager
    def exclusive(self, command: str) -> Iterator[None]:
        """Lock ``.local/`` for one command: two runs at once overwrite each other's tables
        (Spark then fails on files that vanished) and race on the SQLite store. Refuses at once
        rather than waiting, naming the holder; the lock dies with its process, even by SIGKILL."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_FILE
        with path.open("a+") as handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "a process that has not said"
                    raise LocalStateError(
                        f"{path}: another local run holds the lock ({holder}); "
                        "wait for it to end, then run this again"
                    ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, {command}, since {datetime.now():%H:%M:%S}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()

    def _path(self, name: str) -> Path:
        catalog, schema, table = name.split(".")
        return self.root / "tables" / catalog / schema / table

    def read_table(self, name: str) -> DataFrame:
        return self.spark.read.parquet(str(self._path(name)))

    def table_schema(self, name: str) -> StructType | None:
        return self.read_table(name).schema if self._path(name).exists() else None

    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        df.write.mode(mode).parquet(str(self._path(name)))

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        path = self._path(name)
        if not path.exists():
            self.write_table(name, df)
            return
        keys = list(primary_keys)
        kept = self.read_table(name).join(df.select(*keys), on=keys, how="left_anti")
        # Spark cannot overwrite a path it is reading, so write beside it and swap.
        staging = path.with_name(path.name + ".merging")
        kept.unionByName(df).write.mode("overwrite").parquet(str(staging))
        shutil.rmtree(path)
        staging.rename(path)

    def set_task_value(self, key: str, value: Any) -> None:
        self.task_values[key] = value

    def model_requirements(self) -> list[str]:
        """The flavour's defaults, not inferred ones: locally every model runs in this very
        interpreter (``spark_udf`` with ``env_manager="local"``, the scoring server started on
        ``sys.executable``), so the seconds MLflow spends inferring requirements buy nothing."""
        return mlflow.sklearn.get_default_pip_requirements()

    def configure_mlflow(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        store = self.root / STORE_FILE
        start_over = f"to start over: rm -rf {self.root}"
        earlier = [d for d in ("tables", "mlruns") if (self.root / d).exists()]
        if not store.exists() and earlier:
            # MLflow would create an empty store beside tables scored by versions it never had.
            raise LocalStateError(
                f"{store}: missing, while {self.root} holds {' and '.join(earlier)} of earlier "
                f"runs; {start_over}"
            )
        uri = f"sqlite:///{store.as_posix()}"  # four slashes: absolute path
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        from sqlalchemy.exc import SQLAlchemyError  # MLflow's SQL store; only the laptop uses it

        try:
            # Opening the store creates it the first time and fails on a corrupt file: say so now,
            # in one line, rather than as a traceback from whichever stage reads it first.
            mlflow.search_experiments(max_results=1)
        except (SQLAlchemyError, MlflowException) as error:
            reason = str(error).strip().splitlines()[0][:200]
            raise LocalStateError(
                f"{store}: not a usable MLflow store ({reason}); {start_over}"
            ) from None

    def use_experiment(self, names: Names, experiment: str | None) -> str:
        experiment = experiment or names.model_name
        if mlflow.get_experiment_by_name(experiment) is None:
            artifacts = (self.root / "mlruns").as_uri()
            mlflow.create_experiment(experiment, artifact_location=artifacts)
        mlflow.set_experiment(experiment)
        return experiment

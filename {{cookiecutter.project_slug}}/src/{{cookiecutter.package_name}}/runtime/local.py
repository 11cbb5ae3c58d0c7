"""The laptop: parquet tables and a SQLite MLflow store under ``.local/``, local Spark."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from ..config import PROJECT, Names
from .base import Runtime

T = TypeVar("T")


def local_spark() -> SparkSession:
    """A small local Spark session whose Python workers use this interpreter."""
    # Otherwise workers start the system python3, which lacks this venv's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(PROJECT)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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

    def configure_mlflow(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{self.root.as_posix()}/mlflow.db"  # four slashes: absolute path
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)

    def use_experiment(self, names: Names, experiment: str | None) -> str:
        experiment = experiment or names.model_name
        if mlflow.get_experiment_by_name(experiment) is None:
            artifacts = (self.root / "mlruns").as_uri()
            mlflow.create_experiment(experiment, artifact_location=artifacts)
        mlflow.set_experiment(experiment)
        return experiment

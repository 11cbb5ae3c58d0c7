"""The seam between the lifecycle code and where it runs.

This is the only module that knows whether it runs on Databricks or on a laptop.
Every stage talks to a ``Platform``; ``LocalPlatform`` keeps tables as parquet and
MLflow state in SQLite under ``.local/``, ``DatabricksPlatform`` uses Unity Catalog,
Feature Engineering in Unity Catalog and the ``databricks-uc`` registry.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.models import ModelSignature, get_model_info
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from . import config

# Types inside a Pipeline(SimpleImputer, RandomForest*) that skops must be told are safe.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]
MODEL_ARTIFACT = "model"


@dataclass(frozen=True)
class Lookup:
    """A feature table joined onto the label rows by one key column."""

    table: str
    key: str


@dataclass(frozen=True)
class TrainingData:
    """A training set as a DataFrame plus the platform's own handle for lineage."""

    df: DataFrame
    handle: Any = None


class Platform(ABC):
    """What the lifecycle stages need from the environment they run in."""

    name: str
    feature_store: bool

    @property
    @abstractmethod
    def spark(self) -> SparkSession: ...

    @abstractmethod
    def read_table(self, name: str) -> DataFrame: ...

    @abstractmethod
    def table_schema(self, name: str) -> StructType | None:
        """The schema of an existing table, or None if it does not exist yet."""

    @abstractmethod
    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        """Write a plain table; ``mode`` is "overwrite" or "append"."""

    @abstractmethod
    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        """Create the feature table, or upsert ``df`` into it by primary key."""

    @abstractmethod
    def configure_mlflow(self, experiment: str) -> None: ...

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
        """Left-join every lookup table onto the label rows by its key."""
        return TrainingData(_join_features(self, labels, lookups).drop(*exclude))

    def log_model(
        self,
        model: Any,
        training: TrainingData,
        registered_model_name: str,
        signature: ModelSignature,
        input_example: Any,
    ) -> str:
        """Log and register a fitted scikit-learn model inside the active run."""
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT,
            signature=signature,
            input_example=input_example,
            registered_model_name=registered_model_name,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        return str(info.registered_model_version)

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        """Return ``df`` with the looked-up features and a ``prediction`` column."""
        features = _join_features(self, df, lookups)
        inputs = get_model_info(model_uri).signature.inputs.input_names()
        predict = mlflow.pyfunc.spark_udf(
            self.spark, model_uri, result_type=result_type, env_manager="local"
        )
        return features.withColumn("prediction", predict(F.struct(*inputs)))

    @abstractmethod
    def set_task_value(self, key: str, value: Any) -> None:
        """Hand a value to the later tasks of the same job run."""

    @abstractmethod
    def ensure_quality_monitor(self, spec: dict[str, Any]) -> str:
        """Create or update the Lakehouse monitor of ``spec["table_name"]``; say which."""


def _join_features(platform: Platform, df: DataFrame, lookups: Sequence[Lookup]) -> DataFrame:
    for lookup in lookups:
        df = df.join(platform.read_table(lookup.table), on=lookup.key, how="left")
    return df


def local_spark() -> SparkSession:
    """A small local Spark session whose Python workers use this interpreter."""
    # Otherwise workers start the system python3, which lacks this venv's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(config.MODEL_NAME)
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


class LocalPlatform(Platform):
    """Parquet tables and a SQLite MLflow store under ``root`` (default ``.local``)."""

    name = "local"

    def __init__(
        self,
        root: str | Path = ".local",
        spark: SparkSession | None = None,
        feature_store: bool | None = None,
    ) -> None:
        # Absolute, because the JVM resolves relative paths against its own start directory.
        self.root = Path(root).resolve()
        self._spark = spark
        # There is no job run locally; values are kept so callers and tests can read them.
        self.task_values: dict[str, Any] = {}
        # Monitor specs by table name (there is no Lakehouse Monitoring locally).
        self.monitors: dict[str, dict[str, Any]] = {}
        # Locally both settings behave alike: feature tables are merged parquet either way.
        self.feature_store = config.FEATURE_STORE if feature_store is None else feature_store

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = local_spark()
        return self._spark

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

    def ensure_quality_monitor(self, spec: dict[str, Any]) -> str:
        # No Lakehouse Monitoring locally: keep the spec so callers and tests can read it; the
        # checks themselves are computed over the local tables (monitoring.py).
        verb = "updated" if spec["table_name"] in self.monitors else "created"
        self.monitors[spec["table_name"]] = spec
        return verb

    def configure_mlflow(self, experiment: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{self.root.as_posix()}/mlflow.db"  # four slashes: absolute path
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            artifacts = (self.root / "mlruns").as_uri()
            mlflow.create_experiment(experiment, artifact_location=artifacts)
        mlflow.set_experiment(experiment)


class DatabricksPlatform(Platform):
    """Unity Catalog tables, Feature Engineering client and the UC model registry."""

    name = "databricks"

    def __init__(self, feature_store: bool | None = None) -> None:
        self.feature_store = config.FEATURE_STORE if feature_store is None else feature_store
        self._fe: Any = None

    @property
    def spark(self) -> SparkSession:
        session = SparkSession.getActiveSession()
        if session is None:
            raise RuntimeError("No active Spark session: run this on a Databricks cluster")
        return session

    @property
    def fe(self) -> Any:
        # Constructed lazily: the client needs workspace credentials.
        if self._fe is None:
            from databricks.feature_engineering import FeatureEngineeringClient

            self._fe = FeatureEngineeringClient()
        return self._fe

    def read_table(self, name: str) -> DataFrame:
        return self.spark.table(name)

    def table_schema(self, name: str) -> StructType | None:
        return self.spark.table(name).schema if self.spark.catalog.tableExists(name) else None

    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        df.write.mode(mode).saveAsTable(name)

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        exists = self.spark.catalog.tableExists(name)
        if self.feature_store:
            if exists:
                self.fe.write_table(name=name, df=df, mode="merge")
            else:
                self.fe.create_table(
                    name=name, primary_keys=list(primary_keys), df=df, description=description
                )
            return
        if not exists:
            df.write.saveAsTable(name)
            comment = description.replace("'", "\\'")
            self.spark.sql(f"COMMENT ON TABLE {name} IS '{comment}'")
            return
        view = f"_{name.replace('.', '_')}_updates"
        df.createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{key}` = s.`{key}`" for key in primary_keys)
        self.spark.sql(
            f"MERGE INTO {name} AS t USING {view} AS s ON {on} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )

    def configure_mlflow(self, experiment: str) -> None:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        mlflow.set_experiment(experiment)

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
        if not self.feature_store:
            return super().create_training_set(labels, lookups, label, exclude)
        from databricks.feature_engineering import FeatureLookup

        training_set = self.fe.create_training_set(
            df=labels,
            feature_lookups=[
                FeatureLookup(table_name=lk.table, lookup_key=lk.key) for lk in lookups
            ],
            label=label,
            exclude_columns=list(exclude),
        )
        return TrainingData(training_set.load_df(), training_set)

    def log_model(
        self,
        model: Any,
        training: TrainingData,
        registered_model_name: str,
        signature: ModelSignature,
        input_example: Any,
    ) -> str:
        if not self.feature_store:
            return super().log_model(
                model, training, registered_model_name, signature, input_example
            )
        # Newer clients take MLflow 3's ``name=``; older ones only ``artifact_path=``.
        accepted = inspect.signature(self.fe.log_model).parameters
        location = "name" if "name" in accepted else "artifact_path"
        self.fe.log_model(
            model=model,
            flavor=mlflow.sklearn,
            training_set=training.handle,
            registered_model_name=registered_model_name,
            infer_input_example=True,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            **{location: MODEL_ARTIFACT},
        )
        return _version_logged_by_active_run(registered_model_name)

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        if not self.feature_store:
            return super().score(model_uri, df, lookups, result_type)
        # The packaged model carries its feature lookups; score_batch performs them.
        return self.fe.score_batch(model_uri=model_uri, df=df, result_type=result_type)

    def set_task_value(self, key: str, value: Any) -> None:
        from databricks.sdk.runtime import dbutils

        dbutils.jobs.taskValues.set(key=key, value=value)

    def ensure_quality_monitor(self, spec: dict[str, Any], client: Any = None) -> str:
        # Created here, not by the bundle: a monitor needs its table, which the first batch
        # inference run creates (see README, "Monitoring").
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.catalog import (
            MonitorCronSchedule,
            MonitorInferenceLog,
            MonitorNotifications,
        )

        monitors = (client or WorkspaceClient()).quality_monitors
        settings = {
            "output_schema_name": spec["output_schema_name"],
            "baseline_table_name": spec["baseline_table_name"],
            "inference_log": MonitorInferenceLog.from_dict(spec["inference_log"]),
            "schedule": MonitorCronSchedule.from_dict(spec["schedule"]),
            "notifications": MonitorNotifications.from_dict(spec["notifications"]),
        }
        try:
            monitors.get(table_name=spec["table_name"])
        except NotFound:
            monitors.create(
                table_name=spec["table_name"], assets_dir=spec["assets_dir"], **settings
            )
            return "created"
        monitors.update(table_name=spec["table_name"], **settings)
        return "updated"


def _version_logged_by_active_run(model_name: str) -> str:
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_model must be called inside an MLflow run")
    versions = mlflow.MlflowClient().search_model_versions(f"name = '{model_name}'")
    mine = [int(v.version) for v in versions if v.run_id == run.info.run_id]
    if not mine:
        raise RuntimeError(f"Run {run.info.run_id} registered no version of {model_name}")
    return str(max(mine))


def get_platform(kind: str = "auto", feature_store: bool | None = None) -> Platform:
    """``auto`` picks Databricks when running on a Databricks runtime, else local."""
    if kind == "auto":
        kind = "databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "local"
    if kind == "databricks":
        return DatabricksPlatform(feature_store)
    if kind == "local":
        return LocalPlatform(feature_store=feature_store)
    raise ValueError(f"Unknown platform {kind!r}; expected auto, local or databricks")

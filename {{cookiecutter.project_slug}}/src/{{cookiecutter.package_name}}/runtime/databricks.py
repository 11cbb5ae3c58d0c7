"""A Databricks workspace: Unity Catalog tables, the workspace's MLflow and the UC registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from ..config import Names
from ..errors import Refusal
from .base import Runtime

T = TypeVar("T")


class DatabricksRuntime(Runtime):
    """Unity Catalog Delta tables (feature tables merged by key) and the UC model registry."""

    def __init__(self, workspace: Any = None) -> None:
        self._workspace = workspace

    @property
    def workspace(self) -> Any:
        """A databricks-sdk WorkspaceClient, made once: it resolves credentials when built."""
        if self._workspace is None:
            from databricks.sdk import WorkspaceClient

            self._workspace = WorkspaceClient()
        return self._workspace

    @property
    def spark(self) -> SparkSession:
        session = SparkSession.getActiveSession()
        if session is None:
            raise RuntimeError("No active Spark session: run this on a Databricks cluster")
        return session

    def choose(self, local: T, databricks: T) -> T:
        return databricks

    def read_table(self, name: str) -> DataFrame:
        return self.spark.table(name)

    def table_schema(self, name: str) -> StructType | None:
        return self.spark.table(name).schema if self.spark.catalog.tableExists(name) else None

    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        df.write.mode(mode).saveAsTable(name)

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        if not self.spark.catalog.tableExists(name):
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

    def configure_mlflow(self) -> None:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")

    def use_experiment(self, names: Names, experiment: str | None) -> str:
        if not experiment:
            # No default: a guessed workspace path would scatter experiments per target and
            # developer (and /Shared may be locked down). The training job passes the bundle's.
            raise Refusal(
                f"{names.model}: --experiment is required on Databricks "
                "(the bundle's experiment, resources.experiments.training)"
            )
        mlflow.set_experiment(experiment)
        return experiment

    def set_task_value(self, key: str, value: Any) -> None:
        # The notebook's dbutils, reached through the SDK (databricks-sdk-py.readthedocs.io/en/
        # latest/dbutils.html). Task values can be set only from Python notebooks
        # (docs.databricks.com/jobs/task-values.html), so only the jobs' notebook tasks call this:
        # the wheel tasks' entry point (cli.job) refuses every command that sets one.
        from databricks.sdk.runtime import dbutils

        dbutils.jobs.taskValues.set(key=key, value=value)

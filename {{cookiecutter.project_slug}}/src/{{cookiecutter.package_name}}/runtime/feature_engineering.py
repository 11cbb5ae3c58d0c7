"""Databricks with Feature Engineering in Unity Catalog: feature tables with primary keys,
training sets by ``FeatureLookup`` and models logged with their lookups, so Unity Catalog records
which tables trained which model version (lineage) and scoring looks the features up itself.

Only rendered with the feature store option; locally feature tables are merged parquet either way.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from pyspark.sql import DataFrame

from .base import MODEL_ARTIFACT, Lookup, TrainingData
from .databricks import DatabricksRuntime


class FeatureEngineeringRuntime(DatabricksRuntime):
    """DatabricksRuntime whose feature tables, training sets and models go through the
    ``FeatureEngineeringClient``."""

    def __init__(self, workspace: Any = None) -> None:
        super().__init__(workspace)
        self._fe: Any = None

    @property
    def fe(self) -> Any:
        # Constructed lazily: the client needs workspace credentials.
        if self._fe is None:
            from databricks.feature_engineering import FeatureEngineeringClient

            self._fe = FeatureEngineeringClient()
        return self._fe

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        if self.spark.catalog.tableExists(name):
            self.fe.write_table(name=name, df=df, mode="merge")
        else:
            self.fe.create_table(
                name=name, primary_keys=list(primary_keys), df=df, description=description
            )

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
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
        trusted_types: Sequence[str],
    ) -> str:
        # Newer clients take MLflow 3's ``name=``; older ones only ``artifact_path=``.
        accepted = inspect.signature(self.fe.log_model).parameters
        location = "name" if "name" in accepted else "artifact_path"
        self.fe.log_model(
            model=model,
            flavor=mlflow.sklearn,
            training_set=training.handle,
            registered_model_name=registered_model_name,
            infer_input_example=True,
            skops_trusted_types=list(trusted_types),
            **{location: MODEL_ARTIFACT},
        )
        return _version_logged_by_active_run(registered_model_name)

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        # The packaged model carries its feature lookups; score_batch performs them.
        return self.fe.score_batch(model_uri=model_uri, df=df, result_type=result_type)


def _version_logged_by_active_run(model_name: str) -> str:
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_model must be called inside an MLflow run")
    versions = mlflow.MlflowClient().search_model_versions(f"name = '{model_name}'")
    mine = [int(v.version) for v in versions if v.run_id == run.info.run_id]
    if not mine:
        raise RuntimeError(f"Run {run.info.run_id} registered no version of {model_name}")
    return str(max(mine))

"""What every lifecycle stage needs from the place it runs in."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.models import ModelSignature, get_model_info
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from ..config import PREDICTION, Names

MODEL_ARTIFACT = "model"
T = TypeVar("T")


@dataclass(frozen=True)
class Lookup:
    """A feature table joined onto the label rows by one key column."""

    table: str
    key: str


@dataclass(frozen=True)
class TrainingData:
    """A training set as a DataFrame plus the runtime's own handle for lineage."""

    df: DataFrame
    handle: Any = None


class Runtime(ABC):
    """Tables, the MLflow tracking server and registry, and job task values."""

    @property
    @abstractmethod
    def spark(self) -> SparkSession: ...

    @abstractmethod
    def choose(self, local: T, databricks: T) -> T:
        """Of an option's two implementations, the one for this runtime.

        An option package keeps its local and Databricks code in its own folder; this is how it
        picks one, so no module outside the seam asks where it runs.
        """

    def exclusive(self, command: str) -> AbstractContextManager[None]:
        """Held for the whole of one command: where two commands must not share the state at once.

        A workspace needs nothing here: jobs, tables and the registry take concurrent runs.
        """
        return contextlib.nullcontext()

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
    def configure_mlflow(self) -> None:
        """Point MLflow at this runtime's tracking server and model registry."""

    @abstractmethod
    def use_experiment(self, names: Names, experiment: str | None) -> str:
        """Log the runs that follow to ``experiment`` (or this runtime's default); return it.

        Only stages that log runs (training) call this: no other command creates an experiment.
        """

    @abstractmethod
    def set_task_value(self, key: str, value: Any) -> None:
        """Hand a value to the later tasks of the same job run."""

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
        """Left-join every lookup table onto the label rows by its key."""
        return TrainingData(join_features(self, labels, lookups).drop(*exclude))

    def log_model(
        self,
        model: Any,
        training: TrainingData,
        registered_model_name: str,
        signature: ModelSignature,
        input_example: Any,
        trusted_types: Sequence[str],
    ) -> str:
        """Log and register a fitted scikit-learn model inside the active run."""
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT,
            signature=signature,
            input_example=input_example,
            registered_model_name=registered_model_name,
            skops_trusted_types=list(trusted_types),
            pip_requirements=self.model_requirements(),
        )
        return str(info.registered_model_version)

    def model_requirements(self) -> list[str] | None:
        """The model's pip requirements; None lets MLflow infer them (it re-imports the model
        in a subprocess to see what it needs): on Databricks the model's environment is rebuilt
        from them wherever the model is loaded."""
        return None

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        """Return ``df`` with the looked-up features and a ``prediction`` column."""
        features = join_features(self, df, lookups)
        inputs = get_model_info(model_uri).signature.inputs.input_names()
        predict = mlflow.pyfunc.spark_udf(
            self.spark, model_uri, result_type=result_type, env_manager="local"
        )
        return features.withColumn(PREDICTION, predict(F.struct(*inputs)))


def join_features(runtime: Runtime, df: DataFrame, lookups: Sequence[Lookup]) -> DataFrame:
    for lookup in lookups:
        df = df.join(runtime.read_table(lookup.table), on=lookup.key, how="left")
    return df

"""The training stage: labels + feature lookups -> the model's estimator -> MLflow -> a version.

In steps (training sets, fit, log and register, hand over) that the CLI's ``train`` and the training
notebook both call. Also the helpers every later stage shares: the holdout split and the lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from . import registry
from .config import HOLDOUT_PERCENT, Names
from .contract import ModelSpec
from .model import MODEL
from .runtime import Lookup, Runtime, TrainingData


@dataclass(frozen=True)
class TrainResult:
    model_name: str
    version: int
    run_id: str
    metrics: dict[str, float]


def feature_lookups(names: Names, model: ModelSpec = MODEL) -> list[Lookup]:
    return [Lookup(names.table(table.name), table.key) for table in model.feature_tables]


def in_holdout(model: ModelSpec = MODEL) -> Column:
    """Whether a row's keys fall in the holdout: a hash, stable across runs, stages and machines."""
    return F.pmod(F.xxhash64(*model.keys), F.lit(100)) < HOLDOUT_PERCENT


def split_labels(labels: DataFrame, model: ModelSpec = MODEL) -> tuple[DataFrame, DataFrame]:
    """The training and holdout rows of the label table."""
    holdout = in_holdout(model)
    return labels.filter(~holdout), labels.filter(holdout)


def read_labels(runtime: Runtime, names: Names, model: ModelSpec = MODEL) -> DataFrame:
    return runtime.read_table(names.table(model.labels.name)).select(*model.keys, model.label)


def build_training_sets(
    runtime: Runtime, names: Names, model: ModelSpec = MODEL
) -> tuple[TrainingData, TrainingData]:
    """The training and holdout sets: the label rows of each split with their features."""
    train_labels, holdout_labels = split_labels(read_labels(runtime, names, model), model)
    lookups = feature_lookups(names, model)
    return tuple(
        runtime.create_training_set(labels, lookups, model.label, model.keys)
        for labels in (train_labels, holdout_labels)
    )


def to_frame(df: DataFrame, label: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features as float64 (sorted columns) and the label, in a repeatable row order."""
    # Join output order is not deterministic; sorting on every column makes the fit repeatable.
    pdf = df.orderBy(*sorted(df.columns)).toPandas()
    features = pdf.drop(columns=[label])
    return features[sorted(features.columns)].astype("float64"), pdf[label]


@dataclass(frozen=True)
class Fit:
    """A fitted estimator and its holdout metrics, not logged yet."""

    estimator: Any
    training: TrainingData
    # The first training rows: the model's signature and input example.
    example: pd.DataFrame
    metrics: dict[str, float]
    train_rows: int
    holdout_rows: int


def fit(training: TrainingData, holdout: TrainingData, model: ModelSpec = MODEL) -> Fit:
    """Fit the model's estimator on the training set and score the holdout."""
    x_train, y_train = to_frame(training.df, model.label)
    x_holdout, y_holdout = to_frame(holdout.df, model.label)
    estimator = model.make_estimator().fit(x_train, y_train)
    metrics = model.compute_metrics(y_holdout, estimator.predict(x_holdout))
    return Fit(estimator, training, x_train.head(5), metrics, len(x_train), len(x_holdout))


def log_and_register(
    runtime: Runtime, names: Names, fitted: Fit, model: ModelSpec = MODEL
) -> TrainResult:
    """Log the fit to MLflow (params, holdout metrics, model) and register a new version."""
    with mlflow.start_run(run_name=f"train-{names.model_name}") as run:
        mlflow.log_params(
            {**model.params, "train_rows": fitted.train_rows, "holdout_rows": fitted.holdout_rows}
        )
        mlflow.log_metrics({f"holdout_{k}": v for k, v in fitted.metrics.items()})
        example = fitted.example
        version = runtime.log_model(
            fitted.estimator,
            fitted.training,
            names.model,
            signature=infer_signature(example, fitted.estimator.predict(example)),
            input_example=example,
            trusted_types=model.trusted_types,
        )
    return TrainResult(names.model, int(version), run.info.run_id, fitted.metrics)


def train(runtime: Runtime, names: Names, model: ModelSpec = MODEL) -> TrainResult:
    """Fit on the training split, score the holdout, log and register a new model version.

    The steps one by one are what notebooks/train.py runs, cell by cell.
    """
    training, holdout = build_training_sets(runtime, names, model)
    return log_and_register(runtime, names, fit(training, holdout, model), model)


def hand_over(runtime: Runtime, result: TrainResult) -> None:
    """Alias the new version @challenger and hand its number to the job's later tasks (the task
    value ``version``, which validate and promote read)."""
    registry.set_challenger(MlflowClient(), result.model_name, result.version)
    runtime.set_task_value("version", result.version)

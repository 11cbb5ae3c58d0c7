"""The training stage: labels + feature lookups -> the model's estimator -> MLflow -> a version.

Also the helpers every later stage shares: the holdout split and the feature lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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


def train(runtime: Runtime, names: Names, model: ModelSpec = MODEL) -> TrainResult:
    """Fit on the training split, score the holdout, log and register a new model version."""
    training, holdout = build_training_sets(runtime, names, model)
    x_train, y_train = to_frame(training.df, model.label)
    x_holdout, y_holdout = to_frame(holdout.df, model.label)

    estimator = model.make_estimator().fit(x_train, y_train)
    metrics = model.compute_metrics(y_holdout, estimator.predict(x_holdout))

    with mlflow.start_run(run_name=f"train-{names.model_name}") as run:
        mlflow.log_params(
            {**model.params, "train_rows": len(x_train), "holdout_rows": len(x_holdout)}
        )
        mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items()})
        example = x_train.head(5)
        version = runtime.log_model(
            estimator,
            training,
            names.model,
            signature=infer_signature(example, estimator.predict(example)),
            input_example=example,
            trusted_types=model.trusted_types,
        )
    return TrainResult(names.model, int(version), run.info.run_id, metrics)

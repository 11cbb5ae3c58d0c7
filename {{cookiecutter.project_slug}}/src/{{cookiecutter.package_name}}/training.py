"""Training: labels + feature lookups -> scikit-learn pipeline -> MLflow -> registered version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.pipeline import Pipeline

from . import config
from .config import HOLDOUT_PERCENT, ITEM_KEY, LABEL, RANDOM_STATE, USER_KEY, Names
from .platform import Lookup, Platform

KEYS = [USER_KEY, ITEM_KEY]
FOREST_PARAMS = {"n_estimators": 100, "max_depth": 10, "min_samples_leaf": 5}


@dataclass(frozen=True)
class TrainResult:
    model_name: str
    version: int
    run_id: str
    metrics: dict[str, float]


def feature_lookups(names: Names) -> list[Lookup]:
    return [Lookup(names.user_features, USER_KEY), Lookup(names.item_features, ITEM_KEY)]


def split_labels(labels: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Train/holdout split by a hash of the keys: stable across runs, stages and machines."""
    in_holdout = F.pmod(F.xxhash64(*KEYS), F.lit(100)) < HOLDOUT_PERCENT
    return labels.filter(~in_holdout), labels.filter(in_holdout)


def prediction_type(problem_type: str) -> str:
    """Spark type of the prediction column."""
    return "long" if problem_type == "classification" else "double"


def make_pipeline(problem_type: str) -> Pipeline:
    forest_cls = (
        RandomForestClassifier if problem_type == "classification" else RandomForestRegressor
    )
    # One job: threaded predict sums the trees in varying order, which changes the last bits.
    forest = forest_cls(random_state=RANDOM_STATE, n_jobs=1, **FOREST_PARAMS)
    # Lookups are left joins, so a key missing from a feature table arrives as NaN.
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("forest", forest)])


def compute_metrics(problem_type: str, y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if problem_type == "classification":
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        }
    rmse = float(np.sqrt(mean_squared_error(y_true, y_pred)))
    return {
        "rmse": rmse,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
        "relative_rmse": rmse / float(np.std(y_true)),
    }


def _to_frame(df: DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    # Join output order is not deterministic; sorting on every column makes the fit repeatable.
    pdf = df.orderBy(*sorted(df.columns)).toPandas()
    features = pdf.drop(columns=[LABEL])
    return features[sorted(features.columns)].astype("float64"), pdf[LABEL]


def train(platform: Platform, names: Names, problem_type: str | None = None) -> TrainResult:
    """Fit on the training split, score the holdout, log and register a new model version."""
    problem_type = problem_type or config.problem_type()
    labels = platform.read_table(names.labels).select(*KEYS, LABEL)
    train_labels, holdout_labels = split_labels(labels)
    lookups = feature_lookups(names)
    training = platform.create_training_set(train_labels, lookups, LABEL, KEYS)
    holdout = platform.create_training_set(holdout_labels, lookups, LABEL, KEYS)
    x_train, y_train = _to_frame(training.df)
    x_holdout, y_holdout = _to_frame(holdout.df)

    pipeline = make_pipeline(problem_type).fit(x_train, y_train)
    metrics = compute_metrics(problem_type, y_holdout, pipeline.predict(x_holdout))

    with mlflow.start_run(run_name=f"train-{names.model_name}") as run:
        mlflow.log_params(
            {
                **FOREST_PARAMS,
                "problem_type": problem_type,
                "feature_store": platform.feature_store,
                "train_rows": len(x_train),
                "holdout_rows": len(x_holdout),
            }
        )
        mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items()})
        example = x_train.head(5)
        version = platform.log_model(
            pipeline,
            training,
            names.model,
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
        )
    return TrainResult(names.model, int(version), run.info.run_id, metrics)

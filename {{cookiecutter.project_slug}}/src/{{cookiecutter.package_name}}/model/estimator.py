"""The estimator and the metrics that decide promotion."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline

from ..contract import Metric

FOREST_PARAMS = {"n_estimators": 100, "max_depth": 10, "min_samples_leaf": 5}
RANDOM_STATE = 42
# Types inside Pipeline(SimpleImputer, RandomForest*) that MLflow's skops format must trust.
TRUSTED_TYPES = ("numpy.dtype", "sklearn.tree._tree.Tree")


def make_estimator(problem_type: str) -> Pipeline:
    forest_cls = (
        RandomForestClassifier if problem_type == "classification" else RandomForestRegressor
    )
    # One job: threaded predict sums the trees in varying order, which changes the last bits.
    forest = forest_cls(random_state=RANDOM_STATE, n_jobs=1, **FOREST_PARAMS)
    # Lookups are left joins, so a key missing from a feature table arrives as NaN.
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("forest", forest)])


def _relative_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Holdout RMSE over the holdout target's spread: below 1 beats predicting the mean."""
    return root_mean_squared_error(y_true, y_pred) / float(np.std(y_true))


def metrics(problem_type: str) -> tuple[Metric, ...]:
    if problem_type == "classification":
        return (
            Metric("accuracy", True, accuracy_score),
            Metric("f1", True, lambda y, p: f1_score(y, p, zero_division=0)),
        )
    return (
        Metric("rmse", False, root_mean_squared_error),
        Metric("mae", False, mean_absolute_error),
        Metric("r2", True, r2_score),
        Metric("relative_rmse", False, _relative_rmse),
    )

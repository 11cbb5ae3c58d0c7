"""The estimator and the metrics that decide promotion."""

from __future__ import annotations

from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..contract import Metric

PARAMS = {"C": 0.5, "max_iter": 2000, "solver": "lbfgs", "impute": "median"}
# Types inside Pipeline(SimpleImputer, StandardScaler, LogisticRegression) that MLflow's skops
# format must trust.
TRUSTED_TYPES = ("numpy.dtype",)


def make_estimator() -> Pipeline:
    return Pipeline(
        [
            # Lookups are left joins and a few readouts are lost: impute before scaling.
            ("impute", SimpleImputer(strategy=PARAMS["impute"])),
            ("scale", StandardScaler()),
            (
                "logistic",
                LogisticRegression(
                    C=PARAMS["C"], max_iter=PARAMS["max_iter"], solver=PARAMS["solver"]
                ),
            ),
        ]
    )


# accuracy and f1 are the names conf/thresholds.yml limits; the others are logged for people.
METRICS = (
    Metric("accuracy", True, accuracy_score),
    Metric("f1", True, lambda y, p: f1_score(y, p, zero_division=0)),
    Metric("precision", True, lambda y, p: precision_score(y, p, zero_division=0)),
    Metric("recall", True, lambda y, p: recall_score(y, p, zero_division=0)),
    Metric("balanced_accuracy", True, balanced_accuracy_score),
)

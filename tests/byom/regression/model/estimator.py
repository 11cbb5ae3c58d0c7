"""The estimator and the metrics that decide promotion."""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..contract import Metric

PARAMS = {"alpha": 1.0, "impute": "mean"}
# Types inside Pipeline(SimpleImputer, StandardScaler, Ridge) that MLflow's skops format must
# trust.
TRUSTED_TYPES = ("numpy.dtype",)


def make_estimator() -> Pipeline:
    # Visits without a blood draw have no blood features after the lookup: impute them.
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy=PARAMS["impute"])),
            ("scale", StandardScaler()),
            ("ridge", Ridge(alpha=PARAMS["alpha"])),
        ]
    )


def _relative_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """RMSE over the spread of the target: below 1 beats predicting the mean."""
    return root_mean_squared_error(y_true, y_pred) / float(np.std(y_true))


# relative_rmse and r2 are the names conf/thresholds.yml limits; monitoring watches rmse.
METRICS = (
    Metric("rmse", False, root_mean_squared_error),
    Metric("mae", False, mean_absolute_error),
    Metric("r2", True, r2_score),
    Metric("relative_rmse", False, _relative_rmse),
)

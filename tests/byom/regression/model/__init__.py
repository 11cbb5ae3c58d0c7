"""A diabetes-progression regressor: the model/ folder a team swaps in for the template's example.

Disease progression a year after a visit, from the visit's vital signs and blood draws, with a
scaled ridge regression. The rest of the package reads it only through ``MODEL``.
"""

from __future__ import annotations

from ..contract import FeatureTable, ModelSpec
from . import data, estimator, features

MODEL = ModelSpec(
    problem_type="regression",
    labels=data.PROGRESSION,
    keys=(data.KEY,),
    label=data.LABEL,
    sources=(data.VISITS, data.BLOOD_TESTS),
    feature_tables=(
        FeatureTable(
            name="vital_features",
            key=data.KEY,
            description="Per-visit age, sex, body mass index and blood pressure.",
            sources=(data.VISITS.name,),
            build=features.build_vital_features,
        ),
        FeatureTable(
            name="blood_features",
            key=data.KEY,
            description="Per-visit blood serum values, averaged over the visit's draws.",
            sources=(data.BLOOD_TESTS.name,),
            build=features.build_blood_features,
        ),
    ),
    make_estimator=estimator.make_estimator,
    params=estimator.PARAMS,
    metrics=estimator.METRICS,
    primary_metric="mae",
    sample=data.generate,
    trusted_types=estimator.TRUSTED_TYPES,
)

"""A breast-cancer classifier: the model/ folder a team swaps in for the template's example.

Malignant or benign, from the nucleus measurements of a biopsy image, with a scaled logistic
regression. The rest of the package reads it only through ``MODEL``.
"""

from __future__ import annotations

from ..contract import FeatureTable, ModelSpec
from . import data, estimator, features

MODEL = ModelSpec(
    problem_type="classification",
    labels=data.DIAGNOSES,
    keys=(data.KEY,),
    label=data.LABEL,
    sources=(data.SUMMARY, data.EXTREMES),
    feature_tables=(
        FeatureTable(
            name="nucleus_size_features",
            key=data.KEY,
            description="Per-patient nucleus radius, perimeter and area, and their growth.",
            sources=(data.SUMMARY.name, data.EXTREMES.name),
            build=features.build_size_features,
        ),
        FeatureTable(
            name="nucleus_shape_features",
            key=data.KEY,
            description="Per-patient nucleus texture, smoothness, concavity and symmetry.",
            sources=(data.SUMMARY.name, data.EXTREMES.name),
            build=features.build_shape_features,
        ),
    ),
    make_estimator=estimator.make_estimator,
    params=estimator.PARAMS,
    metrics=estimator.METRICS,
    primary_metric="accuracy",
    sample=data.generate,
    trusted_types=estimator.TRUSTED_TYPES,
)

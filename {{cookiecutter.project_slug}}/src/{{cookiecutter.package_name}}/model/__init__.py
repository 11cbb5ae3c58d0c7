{%- set clf = cookiecutter.problem_type == "classification" -%}
"""The model of {{ cookiecutter.project_name }}: the one place a team edits to make the project its own.

Team-owned (listed in pyproject.toml's ``[tool.cruft] skip``): `cruft update` never touches this
folder. The rest of the package reads the model only through ``MODEL`` below, a
``contract.ModelSpec``; see README, "Bring your own model".

- ``data.py``: the source and label tables, and the synthetic sample written in dev and staging
- ``features.py``: the feature tables, as pure PySpark transforms
- ``estimator.py``: the scikit-learn estimator and the metrics that decide promotion
"""

from __future__ import annotations

from ..contract import FeatureTable, ModelSpec
from . import data, estimator, features

PROBLEM_TYPE = "{{ cookiecutter.problem_type }}"

MODEL = ModelSpec(
    problem_type=PROBLEM_TYPE,
    labels=data.LABELS,
    keys=(data.USER_KEY, data.ITEM_KEY),
    label=data.LABEL,
    sources=(data.USERS, data.ITEMS, data.EVENTS),
    feature_tables=(
        FeatureTable(
            name="user_features",
            key=data.USER_KEY,
            description="Per-user activity, tenure and billing features.",
            sources=(data.USERS.name, data.EVENTS.name),
            build=features.build_user_features,
        ),
        FeatureTable(
            name="item_features",
            key=data.ITEM_KEY,
            description="Per-item price, popularity and rating features.",
            sources=(data.ITEMS.name, data.EVENTS.name),
            build=features.build_item_features,
        ),
    ),
    make_estimator=lambda: estimator.make_estimator(PROBLEM_TYPE),
    params={**estimator.FOREST_PARAMS, "problem_type": PROBLEM_TYPE},
    metrics=estimator.metrics(PROBLEM_TYPE),
    primary_metric={{ '"f1"' if clf else '"rmse"' }},
    sample=lambda seed, rows: data.generate(seed, rows, PROBLEM_TYPE),
    trusted_types=estimator.TRUSTED_TYPES,
)

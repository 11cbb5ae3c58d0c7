{%- set fs = cookiecutter.include_feature_store == "yes" -%}
"""The seam between the lifecycle and where it runs: the only package that knows.

``base`` says what a stage may ask of a runtime; ``local`` answers on a laptop (parquet, SQLite
MLflow, local Spark), ``databricks`` in a workspace (Unity Catalog, the UC registry){% if fs %},
``feature_engineering`` adds the Feature Engineering client (feature tables, lookups, lineage){% endif %}.
"""

from __future__ import annotations

import os

from .base import Lookup, Runtime, TrainingData, join_features
from .local import LocalRuntime, local_spark

__all__ = [
    "LocalRuntime",
    "Lookup",
    "Runtime",
    "TrainingData",
    "get_runtime",
    "join_features",
    "local_spark",
]

KINDS = ("auto", "local", "databricks")


def get_runtime(kind: str = "auto") -> Runtime:
    """``auto`` is Databricks on a Databricks runtime, else local."""
    if kind == "auto":
        kind = "databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "local"
    if kind == "databricks":
{%- if fs %}
        from .feature_engineering import FeatureEngineeringRuntime

        return FeatureEngineeringRuntime()
{%- else %}
        from .databricks import DatabricksRuntime

        return DatabricksRuntime()
{%- endif %}
    if kind == "local":
        return LocalRuntime()
    raise ValueError(f"Unknown runtime {kind!r}; expected one of {KINDS}")

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
"""The seam between the lifecycle and where it runs: the only package that knows.

``base`` says what a stage may ask of a runtime; ``local`` answers on a laptop (parquet, SQLite
MLflow, local Spark), ``databricks`` in a workspace (Unity Catalog, the UC registry){% if fs %},
``feature_engineering`` adds the Feature Engineering client (feature tables, lookups, lineage){% endif %}.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Lookup, Runtime, TrainingData, join_features
    from .local import LocalRuntime
    from .spark_session import local_spark

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
# Imported on first use, not with the package: ``doctor`` (``runtime/doctor.py``) must run from a
# plain ``pip install .``, which has no Spark.
_LAZY = {
    "Lookup": "base",
    "Runtime": "base",
    "TrainingData": "base",
    "join_features": "base",
    "LocalRuntime": "local",
    "local_spark": "spark_session",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        from .local import LocalRuntime

        return LocalRuntime()
    raise ValueError(f"Unknown runtime {kind!r}; expected one of {KINDS}")

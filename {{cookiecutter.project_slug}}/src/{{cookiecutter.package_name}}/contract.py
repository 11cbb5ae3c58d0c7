"""The model contract: everything model-specific, declared by the team in ``model/``.

The template's stages know nothing about the data, the features or the estimator: they read one
``ModelSpec`` (``MODEL`` in ``model/__init__.py``) and use only the fields below. A team swaps in
its own model by rewriting ``model/``; `cruft update` never touches that folder, and a template
release that changes the plumbing keeps working as long as this contract holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame

PROBLEM_TYPES = ("classification", "regression")


class ContractError(ValueError):
    """The model declaration contradicts itself (raised when ``model/`` is imported)."""


@dataclass(frozen=True)
class SourceTable:
    """A table the model reads: its name in the project's catalog.schema and the columns used."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FeatureTable:
    """A feature table: built from source tables, keyed by one of the label keys.

    ``build`` receives the source tables named in ``sources`` (as Spark DataFrames, in that
    order) and returns one row per ``key`` value. It must be a pure transform: no reads or writes.
    """

    name: str
    key: str
    description: str
    sources: tuple[str, ...]
    build: Callable[..., DataFrame]


@dataclass(frozen=True)
class Metric:
    """A holdout metric: ``compute(y_true, y_pred)``, and which way is better."""

    name: str
    higher_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class ModelSpec:
    """What the template needs to know about the model, and nothing more."""

    problem_type: str
    # The label table: one row per example, the ``keys`` plus the ``label`` column.
    labels: SourceTable
    keys: tuple[str, ...]
    label: str
    # Tables the feature tables are built from.
    sources: tuple[SourceTable, ...]
    feature_tables: tuple[FeatureTable, ...]
    # A fresh, unfitted scikit-learn estimator; it receives the looked-up features as float64.
    make_estimator: Callable[[], Any]
    # Logged with every training run.
    params: Mapping[str, Any]
    metrics: tuple[Metric, ...]
    # The metric a challenger must beat the champion on.
    primary_metric: str
    # ``sample(seed, rows)``: a deterministic sample of every source table and the label table
    # (table name -> pandas DataFrame), written in dev and staging instead of real sources.
    sample: Callable[[int, int], Mapping[str, pd.DataFrame]]
    # Types inside the fitted estimator that MLflow's skops format must be told are safe.
    trusted_types: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        problems = []
        if self.problem_type not in PROBLEM_TYPES:
            problems.append(f"problem_type {self.problem_type!r} is not one of {PROBLEM_TYPES}")
        missing = [c for c in (*self.keys, self.label) if c not in self.labels.columns]
        if missing:
            problems.append(f"label table {self.labels.name} does not list columns {missing}")
        sources = {s.name for s in self.sources}
        for table in self.feature_tables:
            if table.key not in self.keys:
                problems.append(f"feature table {table.name} key {table.key!r} is not a label key")
            if unknown := [s for s in table.sources if s not in sources]:
                problems.append(f"feature table {table.name} reads undeclared sources {unknown}")
        names = [m.name for m in self.metrics]
        if self.primary_metric not in names:
            problems.append(f"primary_metric {self.primary_metric!r} is not one of {names}")
        if problems:
            raise ContractError("model/: " + "; ".join(problems))

    @property
    def tables(self) -> tuple[SourceTable, ...]:
        """Every table the model reads: the sources and the label table."""
        return (*self.sources, self.labels)

    @property
    def prediction_type(self) -> str:
        """Spark type of the prediction column."""
        return "long" if self.problem_type == "classification" else "double"

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"the model computes no metric {name!r}; it has {self.metric_names}")

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def compute_metrics(self, y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        return {m.name: float(m.compute(y_true, y_pred)) for m in self.metrics}

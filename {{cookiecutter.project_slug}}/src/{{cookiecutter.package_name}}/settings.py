"""The thresholds that decide things, read from ``conf/thresholds.yml`` (the one place they live).

Promotion limits and the data-quality gate are read here{% if cookiecutter.include_serving == "yes" or cookiecutter.include_monitoring == "yes" %}; the option packages read their own
sections of the same file{% endif %}.
A missing or unknown key is an error, never a silent default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import project_file
from .contract import ModelSpec

THRESHOLDS_FILE = "conf/thresholds.yml"
GATE_ACTIONS = ("block", "alert")
BOUNDS = ("min", "max")


@dataclass(frozen=True)
class Limit:
    """An absolute gate on one holdout metric: ``value`` is a minimum or a maximum."""

    metric: str
    bound: str
    value: float

    def holds(self, measured: float) -> bool:
        return measured >= self.value if self.bound == "min" else measured <= self.value


@dataclass(frozen=True)
class Promotion:
    limits: tuple[Limit, ...]
    # The challenger must beat the champion's primary metric by more than this.
    min_improvement: float


@dataclass(frozen=True)
class DataQuality:
    max_null_rate: float
    # block: a feature table with too many nulls is not written; alert: written, and reported.
    action: str


@dataclass(frozen=True)
class Thresholds:
    promotion: Promotion
    data_quality: DataQuality
    # The whole file, for the options' own sections.
    raw: dict[str, Any]
    source: str
    # A hash of the file: recorded with every validation verdict.
    digest: str


def load_thresholds(model: ModelSpec, path: str | Path | None = None) -> Thresholds:
    """Parse and check the thresholds against the model's metrics."""
    source = Path(path) if path else project_file(THRESHOLDS_FILE)
    text = source.read_text()
    raw = yaml.safe_load(text)
    promotion = raw["promotion"]
    limits = []
    for metric, bound in promotion["limits"].items():
        if metric not in model.metric_names:
            raise ValueError(
                f"{source}: promotion.limits.{metric}: the model computes no such metric "
                f"(it has {model.metric_names}; see model/estimator.py)"
            )
        if set(bound) - set(BOUNDS) or len(bound) != 1:
            raise ValueError(f"{source}: promotion.limits.{metric} takes one of {BOUNDS}")
        [(kind, value)] = bound.items()
        limits.append(Limit(metric, kind, float(value)))
    quality = raw["data_quality"]
    if quality["action"] not in GATE_ACTIONS:
        raise ValueError(f"{source}: data_quality.action must be one of {GATE_ACTIONS}")
    return Thresholds(
        promotion=Promotion(tuple(limits), float(promotion["min_improvement"])),
        data_quality=DataQuality(float(quality["max_null_rate"]), quality["action"]),
        raw=raw,
        source=str(source),
        digest=hashlib.sha256(text.encode()).hexdigest()[:12],
    )

"""Batch inference with the champion into an inference table shaped for Lakehouse Monitoring."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from pyspark.sql import functions as F

from . import config
from .config import LABEL, Names
from .platform import Platform
from .registry import CHAMPION, champion_version
from .training import KEYS, feature_lookups, prediction_type


class NoChampionError(RuntimeError):
    """Batch inference needs a champion to score with."""


@dataclass(frozen=True)
class InferenceResult:
    table: str
    model_version: int
    rows: int


def batch_inference(
    platform: Platform,
    names: Names,
    input_table: str | None = None,
    problem_type: str | None = None,
) -> InferenceResult:
    """Score ``input_table`` (default: the label table) and append to the inference table."""
    problem_type = problem_type or config.problem_type()
    version = champion_version(MlflowClient(), names.model)
    if version is None:
        raise NoChampionError(f"{names.model} has no @{CHAMPION}; promote a version first")
    source = platform.read_table(input_table or names.labels)
    # Score the resolved version, not the alias, so model_version is exact even if
    # the alias moves while the job runs.
    scored = platform.score(
        f"models:/{names.model}/{version}",
        source,
        feature_lookups(names),
        prediction_type(problem_type),
    )
    features = [c for c in scored.columns if c not in {*KEYS, LABEL, "prediction"}]
    label = [LABEL] if LABEL in scored.columns else []
    output = scored.select(
        *KEYS,
        *features,
        "prediction",
        *label,
        F.lit(version).alias("model_version"),
        F.current_timestamp().alias("scored_at"),
    )
    platform.write_table(names.predictions, output, mode="append")
    return InferenceResult(names.predictions, version, source.count())

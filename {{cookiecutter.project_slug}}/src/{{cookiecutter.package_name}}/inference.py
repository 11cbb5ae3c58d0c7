"""The batch inference stage: score with the champion into the inference table (keys, features,
prediction, label when known, model version, scoring time)."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from pyspark.sql import functions as F

from .config import MODEL_VERSION, PREDICTION, SCORED_AT, Names
from .contract import ModelSpec
from .errors import Refusal
from .model import MODEL
from .registry import CHAMPION, champion_version
from .runtime import Runtime
from .train import feature_lookups, in_holdout


class NoChampionError(Refusal):
    """There is no champion to score with."""


@dataclass(frozen=True)
class InferenceResult:
    table: str
    model_version: int
    rows: int


def require_champion(names: Names) -> int:
    version = champion_version(MlflowClient(), names.model)
    if version is None:
        raise NoChampionError(f"{names.model} has no @{CHAMPION}; promote a version first")
    return version


def batch_inference(
    runtime: Runtime, names: Names, input_table: str | None = None, model: ModelSpec = MODEL
) -> InferenceResult:
    """Score ``input_table`` (default: the label table) and append to the inference table."""
    version = require_champion(names)
    source = runtime.read_table(input_table or names.table(model.labels.name))
    # Score the resolved version, not the alias, so model_version is exact even if
    # the alias moves while the job runs.
    scored = runtime.score(
        f"models:/{names.model}/{version}",
        source,
        feature_lookups(names, model),
        model.prediction_type,
    )
    features = [c for c in scored.columns if c not in {*model.keys, model.label, PREDICTION}]
    # A label is kept only for rows the model never trained on (the holdout), so any quality
    # measured on this table is out of sample, like for like with the holdout metrics; scored
    # training rows would flatter the model and hide a real drop.
    label = (
        [F.when(in_holdout(model), F.col(model.label)).alias(model.label)]
        if model.label in scored.columns
        else []
    )
    output = scored.select(
        *model.keys,
        *features,
        PREDICTION,
        *label,
        F.lit(version).alias(MODEL_VERSION),
        F.current_timestamp().alias(SCORED_AT),
    )
    runtime.write_table(names.predictions, output, mode="append")
    return InferenceResult(names.predictions, version, source.count())

"""The feature tables: pure PySpark transforms from the source tables (no reads, no writes)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .data import KEY

SIZE = ("radius", "perimeter", "area")
SHAPE = (
    "texture",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)


def _double(name: str) -> Column:
    return F.col(name).cast("double").alias(name)


def _growth(measurement: str) -> Column:
    """How much larger the worst nucleus is than the average one (null without a readout)."""
    worst, mean = F.col(f"{measurement}_worst"), F.col(f"{measurement}_mean")
    return F.when(mean > 0, worst / mean).cast("double").alias(f"{measurement}_growth")


def _per_patient(summary: DataFrame, extremes: DataFrame) -> DataFrame:
    # Every scanned patient keeps a row; a lost worst-case readout leaves its columns null.
    return summary.join(extremes, on=KEY, how="left")


def build_size_features(summary: DataFrame, extremes: DataFrame) -> DataFrame:
    """One row per patient: nucleus size (mean, spread, worst) and how far the worst exceeds it."""
    joined = _per_patient(summary, extremes)
    columns = [_double(f"{m}_{kind}") for m in SIZE for kind in ("mean", "se", "worst")]
    return joined.select(F.col(KEY), *columns, _growth("area"), _growth("radius"))


def build_shape_features(summary: DataFrame, extremes: DataFrame) -> DataFrame:
    """One row per patient: nucleus texture and shape (mean and worst)."""
    joined = _per_patient(summary, extremes)
    columns = [_double(f"{m}_{kind}") for m in SHAPE for kind in ("mean", "worst")]
    return joined.select(F.col(KEY), *columns, _growth("smoothness"))

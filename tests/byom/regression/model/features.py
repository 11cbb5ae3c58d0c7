"""The feature tables: pure PySpark transforms from the source tables (no reads, no writes)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .data import KEY, TESTS, VITALS


def build_vital_features(visits: DataFrame) -> DataFrame:
    """One row per visit: the vital signs as doubles, and sex as a 0/1 indicator."""
    return visits.select(
        F.col(KEY),
        *(F.col(name).cast("double").alias(name) for name in VITALS if name != "sex"),
        (F.col("sex") == 2).cast("double").alias("sex_2"),
        (F.col("bmi") * F.col("blood_pressure") / 100).cast("double").alias("bmi_x_pressure"),
    )


def build_blood_features(blood_tests: DataFrame) -> DataFrame:
    """One row per visit with a blood draw: each value averaged over the visit's draws."""
    per_visit = blood_tests.groupBy(KEY).agg(
        F.count(F.lit(1)).cast("double").alias("blood_draws"),
        *(F.avg(name).cast("double").alias(name) for name in TESTS),
    )
    non_hdl = (F.col("total_cholesterol") - F.col("hdl")).alias("non_hdl_cholesterol")
    return per_visit.select(F.col(KEY), F.col("blood_draws"), *TESTS, non_hdl)

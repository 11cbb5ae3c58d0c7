"""Per-item features from the items and events source tables."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..config import ITEM_KEY, USER_KEY


def build_item_features(items: DataFrame, events: DataFrame) -> DataFrame:
    """One row per item; items nobody used keep a null rating rather than a made-up one."""
    activity = events.groupBy(ITEM_KEY).agg(
        F.count(F.lit(1)).alias("events"),
        F.countDistinct(USER_KEY).alias("users"),
        F.avg("rating").alias("rating"),
        F.avg("minutes").alias("minutes"),
    )
    return items.join(activity, on=ITEM_KEY, how="left").select(
        F.col(ITEM_KEY),
        F.col("price").cast("double").alias("price"),
        F.coalesce(F.col("events"), F.lit(0)).cast("double").alias("item_events"),
        F.coalesce(F.col("users"), F.lit(0)).cast("double").alias("item_users"),
        F.col("rating").cast("double").alias("item_avg_rating"),
        F.coalesce(F.col("minutes"), F.lit(0.0)).cast("double").alias("item_avg_minutes"),
    )

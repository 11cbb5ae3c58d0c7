"""The feature tables: pure PySpark transforms from the source tables (no reads, no writes)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .data import ITEM_KEY, USER_KEY


def build_user_features(users: DataFrame, events: DataFrame) -> DataFrame:
    """One row per user; every feature is a double so model signatures stay stable."""
    # Recency and tenure are measured from the newest event, the data's own "today".
    snapshot = events.agg(F.max("event_date").alias("snapshot_date"))
    activity = events.groupBy(USER_KEY).agg(
        F.count(F.lit(1)).alias("events"),
        F.sum("minutes").alias("minutes"),
        F.countDistinct("event_date").alias("active_days"),
        F.max("event_date").alias("last_event_date"),
    )
    joined = users.join(activity, on=USER_KEY, how="left").crossJoin(snapshot)
    n_events = F.coalesce(F.col("events"), F.lit(0))
    last_seen = F.coalesce(F.col("last_event_date"), F.col("signup_date"))
    return joined.select(
        F.col(USER_KEY),
        F.col("age").cast("double").alias("age"),
        F.datediff("snapshot_date", "signup_date").cast("double").alias("tenure_days"),
        F.col("monthly_fee").cast("double").alias("monthly_fee"),
        F.col("support_tickets").cast("double").alias("support_tickets"),
        n_events.cast("double").alias("user_events"),
        F.coalesce(F.col("minutes"), F.lit(0.0)).cast("double").alias("user_minutes"),
        F.coalesce(F.col("minutes") / F.col("events"), F.lit(0.0)).alias("user_avg_minutes"),
        F.coalesce(F.col("active_days"), F.lit(0)).cast("double").alias("user_active_days"),
        F.datediff("snapshot_date", last_seen).cast("double").alias("days_since_last_event"),
    )


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

"""Tests of the team's model (team-owned, like model/): its feature transforms and its sample."""

from datetime import date

import pandas as pd
from pyspark.sql import SparkSession

from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.model.features import build_item_features, build_user_features

USERS = pd.DataFrame(
    {
        "user_id": [1, 2, 3],
        "age": [30.0, None, 51.0],
        "signup_date": [date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 10)],
        "monthly_fee": [9.99, 14.99, 19.99],
        "support_tickets": [0, 2, 1],
    }
)
ITEMS = pd.DataFrame({"item_id": [10, 20, 30], "price": [5.0, 12.5, 30.0]})
EVENTS = pd.DataFrame(
    {
        "user_id": [1, 1, 1, 2, 2],
        "item_id": [10, 20, 10, 10, 20],
        "event_date": [
            date(2025, 1, 1),
            date(2025, 1, 1),
            date(2025, 1, 20),
            date(2025, 1, 15),
            date(2025, 1, 31),
        ],
        "minutes": [10.0, 20.0, 30.0, 5.0, 7.0],
        "rating": [4, 2, 5, 3, 1],
    }
)


def expected_user_features() -> pd.DataFrame:
    """The same features computed independently with pandas."""
    snapshot = pd.Timestamp(EVENTS["event_date"].max())
    per_user = EVENTS.groupby("user_id").agg(
        user_events=("minutes", "size"),
        user_minutes=("minutes", "sum"),
        user_active_days=("event_date", "nunique"),
        last_event=("event_date", "max"),
    )
    df = USERS.merge(per_user, on="user_id", how="left")
    signup = pd.to_datetime(df["signup_date"])
    last_seen = pd.to_datetime(df["last_event"]).fillna(signup)
    return pd.DataFrame(
        {
            "user_id": df["user_id"],
            "age": df["age"],
            "tenure_days": (snapshot - signup).dt.days.astype(float),
            "monthly_fee": df["monthly_fee"],
            "support_tickets": df["support_tickets"].astype(float),
            "user_events": df["user_events"].fillna(0).astype(float),
            "user_minutes": df["user_minutes"].fillna(0.0),
            "user_avg_minutes": (df["user_minutes"] / df["user_events"]).fillna(0.0),
            "user_active_days": df["user_active_days"].fillna(0).astype(float),
            "days_since_last_event": (snapshot - last_seen).dt.days.astype(float),
        }
    )


def expected_item_features() -> pd.DataFrame:
    per_item = EVENTS.groupby("item_id").agg(
        item_events=("minutes", "size"),
        item_users=("user_id", "nunique"),
        item_avg_rating=("rating", "mean"),
        item_avg_minutes=("minutes", "mean"),
    )
    df = ITEMS.merge(per_item, on="item_id", how="left")
    return pd.DataFrame(
        {
            "item_id": df["item_id"],
            "price": df["price"],
            "item_events": df["item_events"].fillna(0).astype(float),
            "item_users": df["item_users"].fillna(0).astype(float),
            "item_avg_rating": df["item_avg_rating"],
            "item_avg_minutes": df["item_avg_minutes"].fillna(0.0),
        }
    )


def _sorted(df: pd.DataFrame, key: str) -> pd.DataFrame:
    return df.sort_values(key).reset_index(drop=True)


def test_user_features_match_pandas(spark: SparkSession) -> None:
    actual = build_user_features(spark.createDataFrame(USERS), spark.createDataFrame(EVENTS))
    assert {f.dataType.simpleString() for f in actual.schema.fields[1:]} == {"double"}
    pd.testing.assert_frame_equal(
        _sorted(actual.toPandas(), "user_id"),
        _sorted(expected_user_features(), "user_id"),
        check_dtype=False,
    )


def test_item_features_match_pandas(spark: SparkSession) -> None:
    actual = build_item_features(spark.createDataFrame(ITEMS), spark.createDataFrame(EVENTS))
    assert {f.dataType.simpleString() for f in actual.schema.fields[1:]} == {"double"}
    pd.testing.assert_frame_equal(
        _sorted(actual.toPandas(), "item_id"),
        _sorted(expected_item_features(), "item_id"),
        check_dtype=False,
    )


def test_sample_is_deterministic_and_has_a_signal() -> None:
    first, second = MODEL.sample(11, 2000), MODEL.sample(11, 2000)
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[name])
    labels = first[MODEL.labels.name]
    assert len(labels) == 2000
    assert labels[MODEL.label].nunique() > 1

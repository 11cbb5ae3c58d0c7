"""Feature tables: pure Spark transforms, checked by the quality gate, then upserted."""

from __future__ import annotations

from ..config import ITEM_KEY, USER_KEY, Names
from ..platform import Platform
from .item_features import build_item_features
from .quality import check_quality
from .user_features import build_user_features


def write_feature_tables(platform: Platform, names: Names) -> list[str]:
    """Build both feature tables from the source tables; nothing is written if a gate fails."""
    events = platform.read_table(names.events)
    tables = [
        (
            names.user_features,
            build_user_features(platform.read_table(names.users), events),
            USER_KEY,
            "Per-user activity, tenure and billing features.",
        ),
        (
            names.item_features,
            build_item_features(platform.read_table(names.items), events),
            ITEM_KEY,
            "Per-item price, popularity and rating features.",
        ),
    ]
    # Check every table before writing any, so a failure leaves both tables consistent.
    for name, df, key, _ in tables:
        check_quality(name, df, [key], platform.table_schema(name))
    for name, df, key, description in tables:
        platform.write_feature_table(name, df, [key], description)
    return [name for name, *_ in tables]

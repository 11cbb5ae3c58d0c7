"""The online feature store the endpoint looks features up in (a Lakebase instance per target).

Only with the feature store: a model logged through Feature Engineering carries its lookups, so
the endpoint reads the features itself and requests carry only the keys.
"""

from __future__ import annotations

import time
from datetime import timedelta

from ..config import Names
from ..contract import ModelSpec
from ..model import MODEL
from ..runtime.feature_engineering import FeatureEngineeringRuntime
from ..train import feature_lookups
from .backend import Endpoints
from .endpoint import online_store
from .settings import ServingConfig

# Creating an online store can take a while.
ONLINE_STORE_TIMEOUT = timedelta(minutes=40)
ONLINE_STORE_POLL_SECONDS = 30


def online_table(offline: str) -> str:
    """The online copy of a feature table, published for the endpoint's feature lookups."""
    return f"{offline}_online"


def publish_online_features(
    runtime: FeatureEngineeringRuntime,
    store: str,
    capacity: str,
    tables: dict[str, str],
    refresh: bool = True,
) -> dict[str, str]:
    from databricks.sdk.errors import NotFound

    online = runtime.fe.get_online_store(name=store) or runtime.fe.create_online_store(
        name=store, capacity=capacity
    )
    deadline = time.monotonic() + ONLINE_STORE_TIMEOUT.total_seconds()
    while getattr(online.state, "value", online.state) != "AVAILABLE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"online store {store} is still {online.state}")
        time.sleep(ONLINE_STORE_POLL_SECONDS)
        online = runtime.fe.get_online_store(name=store)
    actions = {}
    for source, target in tables.items():
        # Triggered publishing follows the source table's change data feed.
        runtime.spark.sql(
            f"ALTER TABLE {source} SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"
        )
        try:
            synced = runtime.workspace.database.get_synced_database_table(target)
        except NotFound:
            runtime.fe.publish_table(
                online_store=online, source_table_name=source, online_table_name=target
            )
            actions[target] = "published"
            continue
        if not refresh:
            actions[target] = "present"
            continue
        # Already published: run its sync pipeline once to carry the latest merge over.
        runtime.workspace.pipelines.start_update(synced.data_synchronization_status.pipeline_id)
        actions[target] = "refreshed"
    return actions


def publish_features(
    endpoints: Endpoints,
    names: Names,
    target: str,
    cfg: ServingConfig,
    refresh: bool = True,
    model: ModelSpec = MODEL,
) -> dict[str, str]:
    """Publish (or refresh) the feature tables in the online store, where the endpoint reads them.

    Only where the endpoint does the feature lookups itself (feature store on Databricks); with
    plain tables, and locally, requests carry the features.
    """
    if not endpoints.looks_up_features:
        return {}
    tables = {lookup.table: online_table(lookup.table) for lookup in feature_lookups(names, model)}
    return endpoints.publish_online_features(
        online_store(target), cfg.online_store_capacity, tables, refresh
    )

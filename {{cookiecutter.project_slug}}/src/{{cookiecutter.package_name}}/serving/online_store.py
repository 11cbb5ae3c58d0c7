"""The online feature store the endpoint looks features up in (one per target).

Only with the feature store: a model logged through Feature Engineering carries its lookups, so
the endpoint reads the features itself and requests carry only the keys.

An online store is Lakebase: new stores are Lakebase Autoscaling projects, older ones Lakebase
Provisioned instances
(https://docs.databricks.com/aws/en/machine-learning/feature-store/online-tables.html, "New Online
Feature Stores are now created as Lakebase Autoscaling projects"). ``publish_table`` makes each
online table a synced table, copied by a Lakeflow pipeline; in the TRIGGERED publish mode (the
default) the pipeline stops after the first copy and each later run has to be started
(``PublishSpec.publish_mode``,
https://databricks.github.io/sdk-js/api/variables/_databricks_sdk-featurestore.v1.PublishSpec_PublishMode.html).
Which kind of Lakebase holds a table is read from the workspace, never configured: each kind has
its own API for synced tables, and the one that knows the table says where its pipeline is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..config import Names
from ..contract import ModelSpec
from ..errors import Refusal
from ..model import MODEL
from ..runtime.feature_engineering import FeatureEngineeringRuntime
from ..train import feature_lookups
from .backend import Endpoints
from .endpoint import online_store
from .settings import OnlineStoreSettings, ServingConfig

# Creating an online store can take a while.
ONLINE_STORE_TIMEOUT = timedelta(minutes=40)
ONLINE_STORE_POLL_SECONDS = 30
# How often a refresh looks again at a sync that is still running.
SYNC_POLL_SECONDS = 30

AUTOSCALING = "Lakebase Autoscaling"
PROVISIONED = "Lakebase Provisioned"

# Update states after which a pipeline accepts a new update (UpdateStateInfoState,
# https://docs.databricks.com/api/pipelines/v2/get.md, ``latest_updates``).
FINISHED_UPDATES = frozenset({"COMPLETED", "FAILED", "CANCELED"})
# A table published in CONTINUOUS mode follows its source by itself: nothing to start.
CONTINUOUS_STATE = "SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE"


class OnlineSyncTimeoutError(Refusal):
    """A sync of an online table was still running when the refresh stopped waiting for it."""


@dataclass(frozen=True)
class SyncedTable:
    """What the workspace reports about an online table."""

    name: str
    # AUTOSCALING or PROVISIONED: which Lakebase API knows the table.
    lakebase: str
    # The Lakeflow pipeline that copies it; absent while the table is still being provisioned.
    pipeline_id: str | None
    # ``detailed_state`` (SyncedTableState), e.g. SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT.
    state: str | None


def _value(enum: Any) -> str | None:
    return getattr(enum, "value", enum)


def synced_table(workspace: Any, name: str) -> SyncedTable | None:
    """The synced table behind online table ``name``, or None where it was never published."""
    from databricks.sdk.errors import NotFound, NotImplemented

    # Lakebase Autoscaling: the Postgres API, "synced_tables/{catalog}.{schema}.{table}"
    # (https://docs.databricks.com/api/postgres/v1/get-synced-table.md; status.pipeline_id,
    # status.detailed_state). Doubt (README, first real run): that it answers NotFound, rather
    # than another error, for a table that lives on a Provisioned instance.
    try:
        found = workspace.postgres.get_synced_table(name=f"synced_tables/{name}")
    except (NotFound, NotImplemented):
        pass
    else:
        status = found.status
        return SyncedTable(
            name,
            AUTOSCALING,
            status.pipeline_id if status else None,
            _value(status.detailed_state) if status else None,
        )
    # Lakebase Provisioned: the Database API
    # (https://docs.databricks.com/api/database/v1/synced-database-table;
    # data_synchronization_status.pipeline_id and .detailed_state).
    try:
        found = workspace.database.get_synced_database_table(name=name)
    except NotFound:
        return None
    status = found.data_synchronization_status
    return SyncedTable(
        name,
        PROVISIONED,
        status.pipeline_id if status else None,
        _value(status.detailed_state) if status else None,
    )


def running_update(workspace: Any, pipeline_id: str) -> str | None:
    """The id of the pipeline's update still running, or None when it accepts a new one.

    ``latest_updates`` lists the newest first (https://docs.databricks.com/api/pipelines/v2/get.md).
    """
    pipeline = workspace.pipelines.get(pipeline_id=pipeline_id)
    for update in pipeline.latest_updates or []:
        if _value(update.state) not in FINISHED_UPDATES:
            return update.update_id or "(no id)"
    return None


def refresh_synced_table(workspace: Any, table: SyncedTable, timeout: timedelta) -> str:
    """Start one sync of ``table`` so it carries the source's latest commit; return what was done.

    Starting an update fails while another is active, and the active one keeps running
    (https://docs.databricks.com/api/pipelines/v2/start.md). That one is waited for rather than
    taken as the refresh: the documentation does not say whether a running update picks up
    commits made after it started. Once it is over a new one starts, which does. The first sync
    after publishing (SYNCED_TABLE_PROVISIONING*, perhaps no pipeline yet) is waited for the same
    way. After ``timeout`` the refresh refuses, in one line naming the table.
    """
    from databricks.sdk.errors import DatabricksError

    deadline = time.monotonic() + timeout.total_seconds()
    waited = False
    while True:
        if table.state == CONTINUOUS_STATE:
            return f"synced continuously ({table.lakebase})"
        running = None
        if table.pipeline_id:
            running = running_update(workspace, table.pipeline_id)
            if running is None:
                try:
                    # The same Pipelines API for both kinds: each reports its table's pipeline.
                    workspace.pipelines.start_update(pipeline_id=table.pipeline_id)
                except DatabricksError:
                    # Lost a race: another update started after the look above. Wait for it.
                    running = running_update(workspace, table.pipeline_id)
                    if running is None:
                        raise
                else:
                    done = "waited for a running sync, then refreshed" if waited else "refreshed"
                    return f"{done} ({table.lakebase})"
        if time.monotonic() >= deadline:
            what = (
                f"pipeline {table.pipeline_id} update {running}"
                if running
                else "its pipeline is not created yet"
            )
            raise OnlineSyncTimeoutError(
                f"online table {table.name} ({table.lakebase}) still syncing after {timeout} "
                f"({what}, {table.state}); not refreshed: raise online_store.sync_timeout_minutes "
                "in conf/serving.yml or look at the pipeline"
            )
        waited = True
        time.sleep(SYNC_POLL_SECONDS)
        table = synced_table(workspace, table.name) or table


def publish_online_features(
    runtime: FeatureEngineeringRuntime,
    store: str,
    settings: OnlineStoreSettings,
    tables: dict[str, str],
    refresh: bool = True,
) -> dict[str, str]:
    """Publish ``tables`` (source -> online table) into ``store``, creating it if needed, or
    (``refresh``) start a sync of those already published. Returns online table -> what was done.
    """
    # https://docs.databricks.com/aws/en/machine-learning/feature-store/online-tables.html
    # ("Create an online store"): get_online_store answers None for a store that does not exist.
    online = runtime.fe.get_online_store(name=store) or runtime.fe.create_online_store(
        name=store, capacity=settings.capacity
    )
    deadline = time.monotonic() + ONLINE_STORE_TIMEOUT.total_seconds()
    while _value(online.state) != "AVAILABLE":
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
        synced = synced_table(runtime.workspace, target)
        if synced is None:
            # Publishing starts the first sync, a full copy of what the features run just wrote.
            runtime.fe.publish_table(
                online_store=online, source_table_name=source, online_table_name=target
            )
            actions[target] = "published"
        elif refresh:
            actions[target] = refresh_synced_table(runtime.workspace, synced, settings.sync_timeout)
        else:
            actions[target] = f"present ({synced.lakebase})"
    return actions


def online_table(offline: str) -> str:
    """The online copy of a feature table, published for the endpoint's feature lookups."""
    return f"{offline}_online"


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
    store = online_store(target)
    return endpoints.publish_online_features(store, cfg.online_store, tables, refresh)

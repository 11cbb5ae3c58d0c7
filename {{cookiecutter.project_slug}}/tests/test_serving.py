"""Serving: the endpoint spec (databricks-sdk types, checked offline), a real local endpoint
(MLflow's scoring server) smoke-checked after promotions, and the Databricks create/update logic
against a stand-in for the serving-endpoints API. Sizes and budget come from conf/serving.yml."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    ServingEndpointDetailed,
    ServingEndpointPermissionLevel,
)
from mlflow import MlflowClient
from mlflow.models import get_model_info

from {{ cookiecutter.package_name }} import config, platform, registry, serving
from {{ cookiecutter.package_name }}.config import MAX_WORKSPACE_NAME, Names, bounded_name
from {{ cookiecutter.package_name }}.inference import NoChampionError
from {{ cookiecutter.package_name }}.platform import (
    DatabricksPlatform,
    LocalPlatform,
    stop_local_endpoints,
)
from {{ cookiecutter.package_name }}.serving import ServingConfig, SmokeCheckError
from {{ cookiecutter.package_name }}.training import KEYS, train

TARGETS = tuple(config.CATALOGS)


@pytest.fixture(scope="module")
def cfg() -> ServingConfig:
    return serving.load_config()


@pytest.fixture(autouse=True)
def _stop_endpoints() -> Iterator[None]:
    yield
    stop_local_endpoints()


def champion(platform: LocalPlatform, names: Names) -> int:
    """Train a version and make it the champion."""
    version = train(platform, names).version
    registry.promote(MlflowClient(), names.model, version)
    return version


# --- the spec, offline ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_spec_serves_the_version_with_all_traffic(cfg: ServingConfig, target: str) -> None:
    names = Names.resolve(target)
    spec = serving.endpoint_spec(names, target, 7, cfg, "readers", "developers", "a@example.com")
    assert isinstance(spec.config, EndpointCoreConfigInput)
    entity = spec.served_entity
    assert (entity.entity_name, entity.entity_version) == (names.model, "7")
    assert entity.name == serving.served_entity_name(names, 7)
    assert entity.workload_size == cfg.sizes[target].workload_size
    assert entity.scale_to_zero_enabled is cfg.sizes[target].scale_to_zero
    [route] = spec.config.traffic_config.routes
    assert (route.served_entity_name, route.traffic_percentage) == (entity.name, 100)

    body = spec.as_dict()
    # Inference tables through ai_gateway, not the deprecated auto_capture_config.
    assert "auto_capture_config" not in body["config"]
    tables = body["ai_gateway"]["inference_table_config"]
    assert tables == {
        "catalog_name": names.catalog,
        "schema_name": names.schema,
        "table_name_prefix": names.serving_table_prefix,
        "enabled": True,
    }
    assert names.serving_payload == names.table(f"{names.serving_table_prefix}_payload")
    assert body["email_notifications"] == {"on_update_failure": ["a@example.com"]}
    assert {"key": "target", "value": target} in body["tags"]


def test_scale_to_zero_outside_prod(cfg: ServingConfig) -> None:
    assert cfg.sizes["dev"].scale_to_zero
    assert cfg.sizes["staging"].scale_to_zero
    assert not cfg.sizes["prod"].scale_to_zero


def test_readers_query_and_developers_manage_only_dev() -> None:
    def levels(target: str) -> dict[str, ServingEndpointPermissionLevel]:
        acl = serving.endpoint_permissions(target, "readers", "developers")
        return {entry.group_name: entry.permission_level for entry in acl}

    assert levels("dev") == {
        "readers": ServingEndpointPermissionLevel.CAN_QUERY,
        "developers": ServingEndpointPermissionLevel.CAN_MANAGE,
    }
    for target in ("staging", "prod"):
        assert levels(target)["developers"] == ServingEndpointPermissionLevel.CAN_VIEW
    assert serving.endpoint_permissions("prod", "", "") == []


def test_workspace_names_are_valid_distinct_and_stable() -> None:
    endpoints = {Names.resolve(target).endpoint for target in TARGETS}
    assert len(endpoints) == len(TARGETS)
    stores = {config.online_store(target) for target in TARGETS}
    assert len(stores) == len(TARGETS)
    long_a = Names("c" * 60, "s" * 60, "model_a")
    long_b = Names("c" * 60, "s" * 60, "model_b")
    assert len(long_a.endpoint) == MAX_WORKSPACE_NAME
    assert long_a.endpoint != long_b.endpoint
    assert long_a.endpoint == Names("c" * 60, "s" * 60, "model_a").endpoint
    assert bounded_name("a.b c", config.ENDPOINT_CHARACTERS) == "a-b-c"


def test_budget_is_the_one_latency_number(cfg: ServingConfig) -> None:
    if config.MONITORING:
        from {{ cookiecutter.package_name }}.monitoring import load_config

        assert cfg.max_p99_ms == load_config().limit("latency")
    assert cfg.max_p99_ms > 0
    assert cfg.smoke_requests >= 10


# --- a real local endpoint -----------------------------------------------------------------------


def test_request_follows_the_signature(world: LocalPlatform, names: Names) -> None:
    version = champion(world, names)
    request = serving.smoke_request(world, names, version)
    signature = get_model_info(f"models:/{names.model}/{version}").signature
    assert request["columns"] == signature.inputs.input_names()
    assert request["data"]
    assert all(len(row) == len(request["columns"]) for row in request["data"])

    class LookupPlatform(LocalPlatform):
        serves_feature_lookups = True  # as on Databricks with feature tables

    lookups = LookupPlatform(root=world.root, spark=world.spark)
    assert serving.smoke_request(lookups, names, version)["columns"] == KEYS


def test_endpoint_follows_the_champion_and_passes_the_smoke_check(
    world: LocalPlatform, names: Names, cfg: ServingConfig
) -> None:
    with pytest.raises(NoChampionError):
        serving.deploy(world, names, "dev", cfg)
    first = champion(world, names)
    deployed = serving.deploy(world, names, "dev", cfg)
    assert (deployed.action, deployed.version) == ("created", first)
    assert serving.deploy(world, names, "dev", cfg).action == "unchanged"

    result = serving.smoke_check(world, names, cfg)
    assert (result.endpoint, result.version, result.requests) == (
        names.endpoint,
        first,
        cfg.smoke_requests,
    )
    assert 0 < result.p50_ms <= result.p99_ms <= cfg.max_p99_ms
    # Every request, the warm-up too, reached the endpoint's inference table.
    payload = world.read_table(names.serving_payload)
    assert payload.count() == cfg.smoke_requests + 1
    assert {row.served_entity_id for row in payload.collect()} == {deployed.served_entity}
    if config.MONITORING:
        from {{ cookiecutter.package_name }}.monitoring import latency_check, load_config

        assert latency_check(payload, load_config()).ok

    second = champion(world, names)
    moved = serving.deploy(world, names, "dev", cfg)
    assert (moved.action, moved.version) == ("updated", second)
    assert serving.smoke_check(world, names, cfg).version == second


def test_smoke_check_fails_on_a_bad_answer_or_a_slow_p99(
    world: LocalPlatform, names: Names, cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion(world, names)
    serving.deploy(world, names, "dev", cfg)
    with pytest.raises(SmokeCheckError, match="exceeds the budget"):
        serving.smoke_check(world, names, dataclasses.replace(cfg, max_p99_ms=0.0))

    real_request = serving.smoke_request

    def without_a_column(*args: Any) -> dict[str, Any]:
        request = real_request(*args)
        return {"columns": request["columns"][1:], "data": [row[1:] for row in request["data"]]}

    monkeypatch.setattr(serving, "smoke_request", without_a_column)
    with pytest.raises(SmokeCheckError, match="failed to answer"):
        serving.smoke_check(world, names, cfg)


# --- the Databricks side, against a stand-in for the serving-endpoints API ----------------------


class FakeServingEndpoints:
    """Keeps endpoints the way the service reports them (ServingEndpointDetailed)."""

    def __init__(self) -> None:
        self.endpoints: dict[str, ServingEndpointDetailed] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, name: str) -> ServingEndpointDetailed:
        from databricks.sdk.errors import NotFound

        if name not in self.endpoints:
            raise NotFound(f"no endpoint {name}")
        return self.endpoints[name]

    def _store(self, name: str, body: dict[str, Any]) -> ServingEndpointDetailed:
        settled = {"state": {"config_update": "NOT_UPDATING"}}
        self.endpoints[name] = ServingEndpointDetailed.from_dict(
            {"id": f"id-{name}", **body, **settled}
        )
        return self.endpoints[name]

    def create_and_wait(self, name: str, **kwargs: Any) -> ServingEndpointDetailed:
        self.calls.append(("create", kwargs))
        notifications = kwargs["email_notifications"]
        return self._store(
            name,
            {
                "name": name,
                "config": kwargs["config"].as_dict(),
                "ai_gateway": kwargs["ai_gateway"].as_dict(),
                "tags": [tag.as_dict() for tag in kwargs["tags"]],
                **({"email_notifications": notifications.as_dict()} if notifications else {}),
            },
        )

    def patch(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("patch", kwargs))

    def update_notifications(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("update_notifications", kwargs))
        body = self.endpoints[name].as_dict()
        body["email_notifications"] = kwargs["email_notifications"].as_dict()
        self._store(name, body)

    def update_config_and_wait(self, name: str, **kwargs: Any) -> ServingEndpointDetailed:
        self.calls.append(("update_config", kwargs))
        body = self.endpoints[name].as_dict()
        body["config"] = {
            "served_entities": [e.as_dict() for e in kwargs["served_entities"]],
            "traffic_config": kwargs["traffic_config"].as_dict(),
        }
        return self._store(name, body)

    def put_ai_gateway(self, name: str, **kwargs: Any) -> None:
        self.calls.append(("put_ai_gateway", kwargs))

    def update_permissions(self, endpoint_id: str, **kwargs: Any) -> None:
        self.calls.append(("update_permissions", {"id": endpoint_id, **kwargs}))


def test_databricks_endpoint_is_created_then_updated_only_on_change(cfg: ServingConfig) -> None:
    names = Names.resolve("staging")
    endpoints = FakeServingEndpoints()
    platform = DatabricksPlatform(workspace=type("Workspace", (), {"serving_endpoints": endpoints}))
    first = serving.endpoint_spec(names, "staging", 1, cfg, "readers", "developers", "a@x.org")
    assert platform.deploy_endpoint(first) == "created"
    (kind, created), (_, granted) = endpoints.calls
    assert kind == "create"
    assert isinstance(created["config"], EndpointCoreConfigInput)
    tables = created["ai_gateway"].inference_table_config
    assert tables.table_name_prefix == names.serving_table_prefix
    assert granted["id"] == f"id-{names.endpoint}"
    assert [e.group_name for e in granted["access_control_list"]] == ["readers", "developers"]

    endpoints.calls.clear()
    assert platform.deploy_endpoint(first) == "unchanged"
    assert [kind for kind, _ in endpoints.calls] == ["update_permissions"]

    endpoints.calls.clear()
    second = serving.endpoint_spec(names, "staging", 2, cfg, "readers", "developers", "a@x.org")
    assert platform.deploy_endpoint(second) == "updated"
    kind, updated = endpoints.calls[0]
    assert kind == "update_config"
    assert updated["served_entities"][0].entity_version == "2"
    assert updated["traffic_config"].routes[0].served_entity_name == second.served_entity.name

    # A failed update (say, a version that could not start) must not block the next deployment,
    # which is how a rollback repairs it: the endpoint still serves its last good config.
    state = endpoints.endpoints[names.endpoint].state
    state.config_update = EndpointStateConfigUpdate.UPDATE_FAILED
    endpoints.calls.clear()
    assert platform.deploy_endpoint(first) == "updated"
    assert endpoints.calls[0][1]["served_entities"][0].entity_version == "1"

    # A new alert address reaches an existing endpoint too.
    endpoints.calls.clear()
    moved = serving.endpoint_spec(names, "staging", 1, cfg, "readers", "developers", "b@x.org")
    assert platform.deploy_endpoint(moved) == "updated"
    assert [kind for kind, _ in endpoints.calls] == ["update_notifications", "update_permissions"]


class FakeFeatureEngineering:
    """Stands in for FeatureEngineeringClient: an online store that takes one poll to start."""

    def __init__(self) -> None:
        self.stores: dict[str, SimpleNamespace] = {}
        self.published: list[tuple[str, str]] = []

    def get_online_store(self, name: str) -> SimpleNamespace | None:
        store = self.stores.get(name)
        if store is not None and store.state == "STARTING":
            self.stores[name] = SimpleNamespace(name=name, state="AVAILABLE")
        return store

    def create_online_store(self, name: str, capacity: str) -> SimpleNamespace:
        self.stores[name] = SimpleNamespace(name=name, capacity=capacity, state="STARTING")
        return self.stores[name]

    def publish_table(
        self, online_store: Any, source_table_name: str, online_table_name: str
    ) -> None:
        self.published.append((source_table_name, online_table_name))


class FakeWorkspace:
    """The synced tables behind published online tables, and their sync pipelines."""

    def __init__(self, fe: FakeFeatureEngineering) -> None:
        self.started: list[str] = []

        def get_synced_database_table(name: str) -> SimpleNamespace:
            from databricks.sdk.errors import NotFound

            if name not in {online for _, online in fe.published}:
                raise NotFound(name)
            status = SimpleNamespace(pipeline_id=f"pipeline-{name}")
            return SimpleNamespace(data_synchronization_status=status)

        self.database = SimpleNamespace(get_synced_database_table=get_synced_database_table)
        self.pipelines = SimpleNamespace(start_update=self.started.append)


def test_features_are_published_once_then_refreshed(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "ONLINE_STORE_POLL_SECONDS", 0)
    statements: list[str] = []

    class Databricks(DatabricksPlatform):
        spark = SimpleNamespace(sql=statements.append)  # records, runs nothing

    fe = FakeFeatureEngineering()
    workspace = FakeWorkspace(fe)
    databricks = Databricks(feature_store=True, workspace=workspace)
    databricks._fe = fe
    names = Names.resolve("prod")

    first = serving.publish_features(databricks, names, "prod", cfg)
    store = config.online_store("prod")
    assert fe.stores[store].state == "AVAILABLE"
    tables = {names.user_features, names.item_features}
    assert set(first) == {names.online_table(t) for t in tables}
    assert set(first.values()) == {"published"}
    assert {source for source, _ in fe.published} == tables
    # Triggered publishing reads the change data feed: enabled on every source table.
    assert all("delta.enableChangeDataFeed = true" in sql for sql in statements)
    assert len(statements) == len(tables)

    second = serving.publish_features(databricks, names, "prod", cfg)
    assert set(second.values()) == {"refreshed"}
    assert sorted(workspace.started) == sorted(f"pipeline-{t}" for t in first)
    assert len(fe.published) == len(tables)  # not published twice
    # Before a deployment the tables only have to exist; the feature runs keep them fresh.
    workspace.started.clear()
    present = serving.publish_features(databricks, names, "prod", cfg, refresh=False)
    assert set(present.values()) == {"present"}
    assert workspace.started == []
    assert serving.publish_features(LocalPlatform(), names, "prod", cfg) == {}

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
"""Serving: the endpoint spec (databricks-sdk types, checked offline), a real local endpoint
(MLflow's scoring server) smoke-checked after promotions, and the Databricks create/update logic
against a stand-in for the serving-endpoints API. Sizes and budget come from conf/serving.yml."""

from __future__ import annotations

import dataclasses
{%- if fs %}
import inspect
{%- endif %}
import signal
import subprocess
import sys
import time
{%- if fs %}
import typing
{%- endif %}
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
{%- if fs %}
from types import SimpleNamespace
{%- endif %}
from typing import Any
{%- if fs %}
from unittest.mock import NonCallableMock, create_autospec
{%- else %}
from unittest.mock import create_autospec
{%- endif %}

import pytest
{%- if fs %}
from databricks.feature_engineering import DatabricksOnlineStore, FeatureEngineeringClient
{%- endif %}
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
{%- if fs %}
from databricks.sdk.service.database import SyncedDatabaseTable
from databricks.sdk.service.database import SyncedTableState as DatabaseState
from databricks.sdk.service.database import SyncedTableStatus as DatabaseSyncedTableStatus
from databricks.sdk.service.pipelines import (
    GetPipelineResponse,
    UpdateStateInfo,
    UpdateStateInfoState,
)
from databricks.sdk.service.postgres import SyncedTable as PostgresSyncedTable
from databricks.sdk.service.postgres import SyncedTableState as PostgresState
from databricks.sdk.service.postgres import (
    SyncedTableSyncedTableStatus as PostgresSyncedTableStatus,
)
{%- endif %}
from databricks.sdk.service.serving import (
    DataframeSplitInput,
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    QueryEndpointResponse,
    ServingEndpointDetailed,
    ServingEndpointPermissionLevel,
    ServingEndpointPermissions,
    ServingEndpointsAPI,
)
from mlflow import MlflowClient
from mlflow.models import get_model_info
from pyspark.sql import DataFrame, SparkSession

from {{ cookiecutter.package_name }} import registry
from {{ cookiecutter.package_name }}.config import CATALOGS, Names
{%- if fs %}
from {{ cookiecutter.package_name }}.errors import Refusal
{%- endif %}
from {{ cookiecutter.package_name }}.inference import NoChampionError
from {{ cookiecutter.package_name }}.model import MODEL
{%- if monitoring %}
from {{ cookiecutter.package_name }}.monitoring import settings as monitoring_settings
from {{ cookiecutter.package_name }}.monitoring.checks import latency_check
{%- endif %}
from {{ cookiecutter.package_name }}.runtime.databricks import DatabricksRuntime
{%- if fs %}
from {{ cookiecutter.package_name }}.runtime.feature_engineering import FeatureEngineeringRuntime
{%- endif %}
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
from {{ cookiecutter.package_name }}.serving import deploy as serving
{%- if fs %}
from {{ cookiecutter.package_name }}.serving import online_store as online
{%- endif %}
from {{ cookiecutter.package_name }}.serving.databricks import DatabricksEndpoints
from {{ cookiecutter.package_name }}.serving.endpoint import (
    ENDPOINT_CHARACTERS,
    MAX_WORKSPACE_NAME,
    bounded_name,
    endpoint_name,
    endpoint_permissions,
    endpoint_spec,
    payload_prefix,
    payload_table,
    served_entity_name,
)
from {{ cookiecutter.package_name }}.serving.local import LocalEndpoints, stop_local_endpoints
from {{ cookiecutter.package_name }}.serving.settings import ServingConfig, load_config
from {{ cookiecutter.package_name }}.settings import Thresholds, load_thresholds
from {{ cookiecutter.package_name }}.train import train

SmokeCheckError = serving.SmokeCheckError

TARGETS = tuple(CATALOGS)


@pytest.fixture(scope="module")
def cfg(thresholds: Thresholds) -> ServingConfig:
    return load_config(thresholds)


@pytest.fixture(autouse=True)
def _stop_endpoints() -> Iterator[None]:
    yield
    stop_local_endpoints()


def champion(runtime: LocalRuntime, names: Names) -> int:
    """Train a version and make it the champion (forced: validation is not under test here)."""
    version = train(runtime, names).version
    digest = load_thresholds(MODEL).digest
    registry.promote(MlflowClient(), names.model, version, digest, force=True)
    return version


# --- the spec, offline ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_spec_serves_the_version_with_all_traffic(cfg: ServingConfig, target: str) -> None:
    names = Names.resolve(target)
    spec = endpoint_spec(names, target, 7, cfg, "readers", "developers", "a@example.com")
    assert isinstance(spec.config, EndpointCoreConfigInput)
    entity = spec.served_entity
    assert (entity.entity_name, entity.entity_version) == (names.model, "7")
    assert entity.name == served_entity_name(names, 7)
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
        "table_name_prefix": payload_prefix(names),
        "enabled": True,
    }
    assert payload_table(names) == names.table(f"{payload_prefix(names)}_payload")
    assert body["email_notifications"] == {"on_update_failure": ["a@example.com"]}
    assert {"key": "target", "value": target} in body["tags"]


def test_scale_to_zero_outside_prod(cfg: ServingConfig) -> None:
    assert cfg.sizes["dev"].scale_to_zero
    assert cfg.sizes["staging"].scale_to_zero
    assert not cfg.sizes["prod"].scale_to_zero


def test_readers_query_and_developers_manage_only_dev() -> None:
    def levels(target: str) -> dict[str, ServingEndpointPermissionLevel]:
        acl = endpoint_permissions(target, "readers", "developers")
        return {entry.group_name: entry.permission_level for entry in acl}

    assert levels("dev") == {
        "readers": ServingEndpointPermissionLevel.CAN_QUERY,
        "developers": ServingEndpointPermissionLevel.CAN_MANAGE,
    }
    for target in ("staging", "prod"):
        assert levels(target)["developers"] == ServingEndpointPermissionLevel.CAN_VIEW
    assert endpoint_permissions("prod", "", "") == []


def test_workspace_names_are_valid_distinct_and_stable() -> None:
    endpoints = {endpoint_name(Names.resolve(target)) for target in TARGETS}
    assert len(endpoints) == len(TARGETS)
{%- if fs %}
    stores = {online.online_store(target) for target in TARGETS}
    assert len(stores) == len(TARGETS)
{%- endif %}
    long_a = endpoint_name(Names("c" * 60, "s" * 60, "model_a"))
    long_b = endpoint_name(Names("c" * 60, "s" * 60, "model_b"))
    assert len(long_a) == MAX_WORKSPACE_NAME
    assert long_a != long_b
    assert long_a == endpoint_name(Names("c" * 60, "s" * 60, "model_a"))
    assert bounded_name("a.b c", ENDPOINT_CHARACTERS) == "a-b-c"


def test_budget_is_the_one_latency_number(cfg: ServingConfig, thresholds: Thresholds) -> None:
    assert cfg.max_p99_ms == thresholds.raw["latency"]["max_p99_ms"] > 0
{%- if monitoring %}
    monitoring = monitoring_settings.load_config(thresholds, MODEL)
    assert cfg.max_p99_ms == monitoring.limit("latency")
{%- endif %}
    assert cfg.smoke_requests >= 10


# --- a real local endpoint -----------------------------------------------------------------------


def test_request_follows_the_signature(world: LocalRuntime, names: Names) -> None:
    version = champion(world, names)
    request = serving.smoke_request(world, LocalEndpoints(world), names, version)
    signature = get_model_info(f"models:/{names.model}/{version}").signature
    assert request["columns"] == signature.inputs.input_names()
    assert request["data"]
    assert all(len(row) == len(request["columns"]) for row in request["data"])
{%- if fs %}

    class LookupEndpoints(LocalEndpoints):
        looks_up_features = True  # as on Databricks with feature tables

    lookups = LookupEndpoints(world)
    assert serving.smoke_request(world, lookups, names, version)["columns"] == list(MODEL.keys)
{%- endif %}


def test_endpoint_follows_the_champion_and_passes_the_smoke_check(
    world: LocalRuntime, names: Names, cfg: ServingConfig, thresholds: Thresholds
) -> None:
    with pytest.raises(NoChampionError):
        serving.deploy(world, names, "dev", cfg)
    first = champion(world, names)
    deployed = serving.deploy(world, names, "dev", cfg)
    assert (deployed.action, deployed.version) == ("created", first)
    assert serving.deploy(world, names, "dev", cfg).action == "unchanged"

    result = serving.smoke_check(world, names, cfg)
    assert (result.endpoint, result.version, result.requests) == (
        endpoint_name(names),
        first,
        cfg.smoke_requests,
    )
    # Measured and reported; whether it is within the budget depends on how busy this machine is.
    assert 0 < result.p50_ms <= result.p99_ms == result.judged_p99_ms
    assert result.over_budget == (result.p99_ms > cfg.max_p99_ms)
    # Every request, the warm-up too, reached the endpoint's inference table.
    payload = world.read_table(payload_table(names))
    assert payload.count() == cfg.smoke_requests + 1
    assert {row.served_entity_id for row in payload.collect()} == {deployed.served_entity}
{%- if monitoring %}
    assert latency_check(payload, monitoring_settings.load_config(thresholds, MODEL)).value > 0
{%- endif %}

    second = champion(world, names)
    moved = serving.deploy(world, names, "dev", cfg)
    assert (moved.action, moved.version) == ("updated", second)
    assert serving.smoke_check(world, names, cfg).version == second


def test_smoke_check_fails_on_a_bad_answer_and_only_reports_a_slow_laptop(
    world: LocalRuntime, names: Names, cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion(world, names)
    serving.deploy(world, names, "dev", cfg)
    # A laptop's clock measures the laptop: over the budget is reported, not a failure.
    slow = serving.smoke_check(world, names, dataclasses.replace(cfg, max_p99_ms=0.0))
    assert slow.over_budget is True
    assert slow.latency_source.startswith("the caller's clock")

    real_request = serving.smoke_request

    def without_a_column(*args: Any) -> dict[str, Any]:
        request = real_request(*args)
        return {"columns": request["columns"][1:], "data": [row[1:] for row in request["data"]]}

    monkeypatch.setattr(serving, "smoke_request", without_a_column)
    with pytest.raises(SmokeCheckError, match="failed to answer"):
        serving.smoke_check(world, names, cfg)


# A process that deploys the local endpoint, says so, then waits for "exit" on stdin.
DEPLOY_THEN_WAIT = """
import sys
from {{ cookiecutter.package_name }} import cli

code = cli.main(["deploy-endpoint", "--runtime", "local"])
print("deployed" if code == 0 else "failed", flush=True)
if sys.stdin.readline().strip() == "exit":
    sys.exit(0)
"""


def processes() -> dict[int, tuple[str, int, int, str]]:
    """pid -> (state, parent, session, command line) of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        state, parent, _, session = stat.rsplit(")", 1)[1].split()[:4]
        found[int(entry.name)] = (state, int(parent), int(session), command)
    return found


def alive_in_session(session: int) -> dict[int, str]:
    return {
        pid: command
        for pid, (state, _, sid, command) in processes().items()
        if sid == session and state != "Z"
    }


SAID = ("deployed", "failed")
ENDINGS = ["exit", signal.SIGTERM, signal.SIGINT]
if sys.platform.startswith("linux"):
    ENDINGS.append(signal.SIGKILL)  # no handler runs: the kernel's parent-death signal must do


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_the_local_endpoint_dies_with_the_command(
    world: LocalRuntime, names: Names, tmp_path: Path
) -> None:
    champion(world, names)
    for ending in ENDINGS:
        log = tmp_path / f"deploy-{ending}.log"
        with log.open("w") as stderr:
            command = subprocess.Popen(
                [sys.executable, "-c", DEPLOY_THEN_WAIT],
                cwd=tmp_path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert command.stdout is not None
        said = next(
            (line.strip() for line in iter(command.stdout.readline, "") if line.strip() in SAID),
            "nothing",
        )
        assert said == "deployed", log.read_text()[-3000:]
        # The scoring server: the command's child that leads its own session.
        [server] = [
            pid
            for pid, (_, parent, session, _) in processes().items()
            if parent == command.pid and session == pid
        ]
        arguments = processes()[server][3].split()
        port = arguments[arguments.index("--port") + 1]
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
                    break
            except OSError:
                assert alive_in_session(server), log.read_text()[-3000:]
                time.sleep(0.5)
        assert any("uvicorn" in line for line in alive_in_session(server).values())

        if ending == "exit":
            command.communicate("exit\n")
        else:
            command.send_signal(ending)
            command.wait()
        # Ended as it would have without the endpoint: exit 0, or killed by the signal.
        assert command.returncode == (0 if ending == "exit" else -ending), log.read_text()[-3000:]
        # A bound for a loaded machine; a leaked server never goes.
        deadline = time.monotonic() + 120
        while alive_in_session(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alive_in_session(server) == {}, f"{ending!s} left {alive_in_session(server)}"


# --- the Databricks side, against a stand-in for the serving-endpoints API ----------------------


class FakeServingEndpoints:
    """Keeps endpoints the way the service reports them (ServingEndpointDetailed)."""

    def __init__(self) -> None:
        self.endpoints: dict[str, ServingEndpointDetailed] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.client_request_ids: list[str | None] = []
        self.grants: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)

    def query(
        self,
        name: str,
        client_request_id: str | None = None,
        dataframe_split: DataframeSplitInput | None = None,
    ) -> QueryEndpointResponse:
        self.client_request_ids.append(client_request_id)
        assert dataframe_split is not None
        return QueryEndpointResponse(predictions=[0] * len(dataframe_split.data))

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
        for grant in kwargs["access_control_list"]:
            self.grants[endpoint_id].add((grant.group_name, grant.permission_level.value))

    def get_permissions(self, endpoint_id: str) -> ServingEndpointPermissions:
        return permissions(self.grants[endpoint_id])


def test_databricks_endpoint_is_created_then_updated_only_on_change(cfg: ServingConfig) -> None:
    names = Names.resolve("staging")
    endpoints = FakeServingEndpoints()
    workspace = type("Workspace", (), {"serving_endpoints": endpoints})
    databricks = DatabricksEndpoints(DatabricksRuntime(workspace=workspace))
    first = endpoint_spec(names, "staging", 1, cfg, "readers", "developers", "a@x.org")
    assert databricks.deploy(first) == "created"
    (kind, created), (_, granted) = endpoints.calls
    assert kind == "create"
    assert isinstance(created["config"], EndpointCoreConfigInput)
    tables = created["ai_gateway"].inference_table_config
    assert tables.table_name_prefix == payload_prefix(names)
    assert granted["id"] == f"id-{endpoint_name(names)}"
    assert [e.group_name for e in granted["access_control_list"]] == ["readers", "developers"]

    endpoints.calls.clear()
    assert databricks.deploy(first) == "unchanged"
    assert endpoints.calls == []  # nothing to change: no call at all

    endpoints.calls.clear()
    second = endpoint_spec(names, "staging", 2, cfg, "readers", "developers", "a@x.org")
    assert databricks.deploy(second) == "updated"
    kind, updated = endpoints.calls[0]
    assert kind == "update_config"
    assert updated["served_entities"][0].entity_version == "2"
    assert updated["traffic_config"].routes[0].served_entity_name == second.served_entity.name

    # A failed update (say, a version that could not start) must not block the next deployment,
    # which is how a rollback repairs it: the endpoint still serves its last good config.
    state = endpoints.endpoints[endpoint_name(names)].state
    state.config_update = EndpointStateConfigUpdate.UPDATE_FAILED
    endpoints.calls.clear()
    assert databricks.deploy(first) == "updated"
    assert endpoints.calls[0][1]["served_entities"][0].entity_version == "1"

    # A new alert address reaches an existing endpoint too.
    endpoints.calls.clear()
    moved = endpoint_spec(names, "staging", 1, cfg, "readers", "developers", "b@x.org")
    assert databricks.deploy(moved) == "updated"
    assert [kind for kind, _ in endpoints.calls] == ["update_notifications"]


def permissions(grants: set[tuple[str, str]]) -> ServingEndpointPermissions:
    """An endpoint's ACL as the permissions API reports it (direct grants, plus the owner)."""
    direct = [
        {"group_name": group, "all_permissions": [{"permission_level": level, "inherited": False}]}
        for group, level in sorted(grants)
    ]
    owner = {"user_name": "deployer", "all_permissions": [{"permission_level": "CAN_MANAGE"}]}
    return ServingEndpointPermissions.from_dict({"access_control_list": [owner, *direct]})


def serving_now(spec: Any) -> ServingEndpointDetailed:
    """The endpoint as the service reports it after ``spec`` was deployed to it."""
    body = spec.as_dict()
    return ServingEndpointDetailed.from_dict(
        {**body, "id": "endpoint-id", "state": {"config_update": "NOT_UPDATING"}}
    )


def test_databricks_deploy_decides_from_the_endpoints_config(cfg: ServingConfig) -> None:
    """Against the SDK's own API class (autospecced: a wrong method or argument raises): an
    endpoint already serving the spec gets no update call; each difference gets its own call."""
    names = Names.resolve("prod")
    api = create_autospec(ServingEndpointsAPI, instance=True)
    workspace = create_autospec(WorkspaceClient, instance=True)
    workspace.serving_endpoints = api
    databricks = DatabricksEndpoints(DatabricksRuntime(workspace=workspace))
    spec = endpoint_spec(names, "prod", 3, cfg, "readers", "developers", "a@x.org")
    granted = {("readers", "CAN_QUERY"), ("developers", "CAN_VIEW")}
    api.get_permissions.return_value = permissions(granted)

    api.get.side_effect = NotFound("no such endpoint")
    assert databricks.deploy(spec) == "created"
    created = ["get", "create_and_wait", "update_permissions"]
    assert [call[0] for call in api.method_calls] == created

    def deploy_to(current: Any) -> tuple[str, list[str]]:
        api.reset_mock()
        api.get.side_effect = None
        api.get.return_value = serving_now(current)
        action = databricks.deploy(spec)
        reads = ("get", "get_permissions")
        updates = [call[0] for call in api.method_calls if call[0] not in reads]
        return action, updates

    assert deploy_to(spec) == ("unchanged", [])

    entity = spec.served_entity
    route = spec.config.traffic_config.routes[0]
    for field, value in (
        ("entity_version", "2"),  # a rollback or promotion moved @champion
        ("name", "other-2"),
        ("workload_size", "Large" if entity.workload_size != "Large" else "Small"),
        ("scale_to_zero_enabled", not entity.scale_to_zero_enabled),
    ):
        changed = dataclasses.replace(entity, **{field: value})
        config = dataclasses.replace(spec.config, served_entities=[changed])
        action, updates = deploy_to(dataclasses.replace(spec, config=config))
        assert (action, updates) == ("updated", ["update_config_and_wait"]), field
        sent = api.update_config_and_wait.call_args.kwargs
        assert sent["served_entities"] == spec.config.served_entities
        assert sent["traffic_config"] == spec.config.traffic_config

    split = dataclasses.replace(
        spec.config.traffic_config, routes=[dataclasses.replace(route, traffic_percentage=50)]
    )
    config = dataclasses.replace(spec.config, traffic_config=split)
    assert deploy_to(dataclasses.replace(spec, config=config)) == (
        "updated",
        ["update_config_and_wait"],
    )

    api.get_permissions.return_value = permissions({("readers", "CAN_QUERY")})
    assert deploy_to(spec) == ("updated", ["update_permissions"])


def test_databricks_smoke_check_judges_the_endpoints_own_timing(
    cfg: ServingConfig, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving, "LATENCY_WAIT", timedelta(0))
    names = Names.resolve("staging")
    table = payload_table(names)
    tables: dict[str, DataFrame] = {}

    class Workspace(DatabricksRuntime):
        """Unity Catalog tables as local DataFrames; everything else is the Databricks code."""

        def table_schema(self, name: str) -> Any:
            return tables[name].schema if name in tables else None

        def read_table(self, name: str) -> DataFrame:
            return tables[name]

    api = FakeServingEndpoints()
    runtime = Workspace(workspace=type("Client", (), {"serving_endpoints": api}))
    request = {"columns": ["x"], "data": [[1.0], [2.0]]}
    serving.timed_requests(DatabricksEndpoints(runtime), "e", request, cfg.smoke_requests, "b")
    ids = serving.request_ids("b", cfg.smoke_requests)
    # Each timed request carries an id its inference table row keeps; the warm-up is not timed.
    assert api.client_request_ids == [None, *ids]

    # The job's own clock saw 10 s per request: the network and its compute, not the endpoint.
    measured = serving.judge("e", 1, 2, [10_000.0] * len(ids), cfg)
    assert measured.over_budget
    pending = serving.enforce_server_latency(runtime, names, measured, "b")
    assert (pending.judged_p99_ms, pending.over_budget) == (None, None)
    assert pending.latency_source.startswith(f"not judged: {table} has no row")

    budget = cfg.max_p99_ms
    other_client = [("someone-else", budget * 10)]
    columns = ["client_request_id", "execution_duration_ms"]
    tables[table] = spark.createDataFrame([(i, budget / 2) for i in ids] + other_client, columns)
    fast = serving.enforce_server_latency(runtime, names, measured, "b")
    assert (fast.judged_p99_ms, fast.over_budget) == (budget / 2, False)
    assert fast.latency_source == f"execution_duration_ms of {len(ids)} requests in {table}"

    tables[table] = spark.createDataFrame([(i, budget * 2) for i in ids], columns)
    with pytest.raises(SmokeCheckError, match=r"server-side p99 .* exceeds the budget"):
        serving.enforce_server_latency(runtime, names, measured, "b")


{%- if fs %}


# --- the online store, against autospecced Feature Engineering and workspace clients -------------


def workspace_client() -> Any:
    """create_autospec(WorkspaceClient) with the APIs the online store uses autospecced as well
    (they are properties, which autospec alone leaves accepting any call): a wrong method name or
    argument raises. The others accept nothing."""
    client = create_autospec(WorkspaceClient, instance=True)
    for name, prop in inspect.getmembers(WorkspaceClient, lambda m: isinstance(m, property)):
        if name in ("postgres", "database", "pipelines"):
            api = typing.get_type_hints(prop.fget)["return"]
            setattr(client, name, create_autospec(api, instance=True))
        else:
            setattr(client, name, NonCallableMock(spec_set=[]))
    return client


def store(state: str) -> DatabricksOnlineStore:
    return DatabricksOnlineStore(
        name="s", capacity="CU_1", state=DatabricksOnlineStore.State(state)
    )


def autoscaling_table(pipeline: str | None, state: str) -> PostgresSyncedTable:
    """What the Postgres API (Lakebase Autoscaling) reports about a synced table."""
    status = PostgresSyncedTableStatus(pipeline_id=pipeline, detailed_state=PostgresState(state))
    return PostgresSyncedTable(name="synced_tables/x", status=status)


def provisioned_table(pipeline: str, state: str) -> SyncedDatabaseTable:
    """What the Database API (Lakebase Provisioned) reports about a synced table."""
    status = DatabaseSyncedTableStatus(pipeline_id=pipeline, detailed_state=DatabaseState(state))
    return SyncedDatabaseTable(name="x", data_synchronization_status=status)


def pipeline(*states: str) -> GetPipelineResponse:
    """A pipeline whose latest updates (newest first) are in ``states``."""
    updates = [
        UpdateStateInfo(update_id=f"u{i}", state=UpdateStateInfoState(state))
        for i, state in enumerate(states)
    ]
    return GetPipelineResponse(pipeline_id="p", latest_updates=updates)


class OnlineWorld:
    """A FeatureEngineeringRuntime on autospecced clients, its Spark only recording statements."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(online, "ONLINE_STORE_POLL_SECONDS", 0)
        monkeypatch.setattr(online, "SYNC_POLL_SECONDS", 0)
        self.statements: list[str] = []
        statements = self.statements

        class Databricks(FeatureEngineeringRuntime):
            spark = SimpleNamespace(sql=statements.append)  # records, runs nothing

        self.fe = create_autospec(FeatureEngineeringClient, instance=True)
        self.fe.get_online_store.return_value = store("AVAILABLE")
        self.workspace = workspace_client()
        # Published nowhere until a test says otherwise.
        self.workspace.postgres.get_synced_table.side_effect = NotFound("no synced table")
        self.workspace.database.get_synced_database_table.side_effect = NotFound("no table")
        self.workspace.pipelines.get.return_value = pipeline("COMPLETED")
        runtime = Databricks(workspace=self.workspace)
        runtime._fe = self.fe
        self.runtime = runtime
        self.endpoints = DatabricksEndpoints(runtime)
        self.names = Names.resolve("prod")
        self.tables = {self.names.table(table.name) for table in MODEL.feature_tables}
        self.online = {online.online_table(table) for table in self.tables}

    def publish(self, cfg: ServingConfig, refresh: bool = True, **settings: Any) -> dict[str, str]:
        if settings:
            cfg = dataclasses.replace(
                cfg, online_store=dataclasses.replace(cfg.online_store, **settings)
            )
        return serving.publish_features(self.endpoints, self.names, "prod", cfg, refresh)

    def started(self) -> list[str]:
        return [c.kwargs["pipeline_id"] for c in self.workspace.pipelines.start_update.mock_calls]


def test_features_are_published_once_in_a_new_store(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    # No store yet: created with the configured capacity, then polled until available.
    world.fe.get_online_store.side_effect = [None, store("STARTING"), store("AVAILABLE")]
    world.fe.create_online_store.return_value = store("STARTING")

    first = world.publish(cfg)
    world.fe.create_online_store.assert_called_once_with(
        name=online.online_store("prod"), capacity=cfg.online_store.capacity
    )
    assert first == dict.fromkeys(world.online, "published")
    published = {
        c.kwargs["source_table_name"]: c.kwargs["online_table_name"]
        for c in world.fe.publish_table.mock_calls
    }
    assert published == {table: online.online_table(table) for table in world.tables}
    assert all(c.kwargs["online_store"].name == "s" for c in world.fe.publish_table.mock_calls)
    # Triggered publishing reads the change data feed: enabled on every source table.
    assert all("delta.enableChangeDataFeed = true" in sql for sql in world.statements)
    assert len(world.statements) == len(world.tables)
    # Publishing starts the first sync itself.
    assert world.started() == []

    # Before a deployment the tables only have to exist; the feature runs keep them fresh.
    world.fe.get_online_store.side_effect = None
    world.workspace.postgres.get_synced_table.side_effect = None
    world.workspace.postgres.get_synced_table.return_value = autoscaling_table(
        "p", "SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE"
    )
    world.fe.publish_table.reset_mock()
    present = world.publish(cfg, refresh=False)
    assert present == dict.fromkeys(world.online, f"present ({online.AUTOSCALING})")
    assert world.started() == []
    world.fe.publish_table.assert_not_called()
    assert serving.publish_features(LocalEndpoints(LocalRuntime()), world.names, "prod", cfg) == {}


def test_an_autoscaling_table_is_refreshed_through_its_pipeline(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    world.workspace.postgres.get_synced_table.side_effect = None
    world.workspace.postgres.get_synced_table.return_value = autoscaling_table(
        "p-auto", "SYNCED_TABLE_ONLINE_NO_PENDING_UPDATE"
    )
    refreshed = world.publish(cfg)
    assert refreshed == dict.fromkeys(world.online, f"refreshed ({online.AUTOSCALING})")
    asked = {c.kwargs["name"] for c in world.workspace.postgres.get_synced_table.mock_calls}
    assert asked == {f"synced_tables/{table}" for table in world.online}
    # The Postgres API knew the tables: the Provisioned one is not asked.
    world.workspace.database.get_synced_database_table.assert_not_called()
    assert world.started() == ["p-auto"] * len(world.online)
    world.fe.publish_table.assert_not_called()


def test_a_provisioned_table_is_refreshed_through_its_pipeline(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    world.workspace.database.get_synced_database_table.side_effect = None
    world.workspace.database.get_synced_database_table.return_value = provisioned_table(
        "p-prov", "SYNCED_TABLE_ONLINE_PIPELINE_FAILED"
    )
    # The last update failed: a new one is the retry.
    world.workspace.pipelines.get.return_value = pipeline("FAILED", "COMPLETED")
    refreshed = world.publish(cfg)
    assert refreshed == dict.fromkeys(world.online, f"refreshed ({online.PROVISIONED})")
    asked = world.workspace.database.get_synced_database_table.mock_calls
    assert {c.kwargs["name"] for c in asked} == world.online
    assert world.started() == ["p-prov"] * len(world.online)


def test_a_running_first_sync_is_waited_for_then_refreshed(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    from databricks.sdk.errors import ResourceConflict

    # Just published: no pipeline yet, then the initial snapshot runs, then it is online.
    world.workspace.postgres.get_synced_table.side_effect = [
        autoscaling_table(None, "SYNCED_TABLE_PROVISIONING_PIPELINE_RESOURCES"),
        autoscaling_table("p", "SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT"),
        autoscaling_table("p", "SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT"),
        autoscaling_table("p", "SYNCED_TABLE_ONLINE"),
    ]
    world.workspace.pipelines.get.side_effect = [
        pipeline("RUNNING"),
        pipeline("COMPLETED"),  # looked idle, but another update started before ours:
        pipeline("WAITING_FOR_RESOURCES", "COMPLETED"),
        pipeline("COMPLETED", "COMPLETED"),
    ]
    world.workspace.pipelines.start_update.side_effect = [
        ResourceConflict("an active update is running"),
        None,
    ]
    source = sorted(world.tables)[0]
    refreshed = online.publish_online_features(
        world.runtime, "s", cfg.online_store, {source: f"{source}_online"}
    )
    assert refreshed == {
        f"{source}_online": f"waited for a running sync, then refreshed ({online.AUTOSCALING})"
    }
    assert world.started() == ["p", "p"]  # the refused start, then the one that ran


def test_a_sync_running_past_the_timeout_refuses_naming_the_table(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    world.workspace.database.get_synced_database_table.side_effect = None
    world.workspace.database.get_synced_database_table.return_value = provisioned_table(
        "p", "SYNCED_TABLE_PROVISIONING_INITIAL_SNAPSHOT"
    )
    world.workspace.pipelines.get.return_value = pipeline("RUNNING")
    with pytest.raises(online.OnlineSyncTimeoutError) as refused:
        world.publish(cfg, sync_timeout=timedelta(0))
    message = str(refused.value)
    assert "\n" not in message
    assert any(f"online table {table} " in message for table in world.online)
    assert "pipeline p update u0" in message
    assert "sync_timeout_minutes" in message
    assert isinstance(refused.value, Refusal)  # the command line prints it in one line
    world.workspace.pipelines.start_update.assert_not_called()

    # With time to wait, the same sync is waited for instead (the configured timeout decides).
    world.workspace.pipelines.get.side_effect = [pipeline("RUNNING")] + [pipeline("COMPLETED")] * 9
    waited = list(world.publish(cfg).values())
    # The first table waited for the running sync; by then the pipeline is free for the others.
    assert waited[0] == f"waited for a running sync, then refreshed ({online.PROVISIONED})"
    assert set(waited[1:]) <= {f"refreshed ({online.PROVISIONED})"}


def test_a_continuous_table_needs_no_refresh(
    cfg: ServingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = OnlineWorld(monkeypatch)
    world.workspace.postgres.get_synced_table.side_effect = None
    world.workspace.postgres.get_synced_table.return_value = autoscaling_table(
        "p", "SYNCED_TABLE_ONLINE_CONTINUOUS_UPDATE"
    )
    world.workspace.pipelines.get.return_value = pipeline("RUNNING")
    assert set(world.publish(cfg).values()) == {f"synced continuously ({online.AUTOSCALING})"}
    world.workspace.pipelines.start_update.assert_not_called()
{%- endif %}

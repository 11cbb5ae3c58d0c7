"""Real-time serving: the endpoint of the champion version, and the smoke check after each change.

The endpoint is not a bundle resource. A serving endpoint pins a model *version*, which does not
exist when a fresh workspace is first deployed, and a version written into the bundle would be put
back by every later `bundle deploy`, undoing promotions and rollbacks. So the serving job, run by
the training job after a promotion and by the rollback job, creates or updates the endpoint with
the databricks-sdk types built here (see README, "Serving"). Locally the same spec starts MLflow's
scoring server, which takes the same requests, so the smoke check runs for real on a laptop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    EmailNotifications,
    EndpointCoreConfigInput,
    EndpointTag,
    Route,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
    TrafficConfig,
)
from mlflow import MlflowClient
from mlflow.models import get_model_info
from pyspark.sql import functions as F

from . import config
from .config import ENDPOINT_CHARACTERS, Names, bounded_name, project_file
from .inference import NoChampionError
from .platform import Platform, join_features
from .registry import CHAMPION, champion_version
from .training import KEYS, feature_lookups

CONFIG_FILE = "conf/serving.yml"
WORKLOAD_SIZES = ("Small", "Medium", "Large")
CAPACITIES = ("CU_1", "CU_2", "CU_4", "CU_8")


class SmokeCheckError(RuntimeError):
    """The endpoint answered wrongly, or too slowly, after a deployment."""


@dataclass(frozen=True)
class EndpointSize:
    workload_size: str
    scale_to_zero: bool


@dataclass(frozen=True)
class ServingConfig:
    sizes: dict[str, EndpointSize]
    smoke_requests: int
    max_p99_ms: float
    online_store_capacity: str | None


def load_config(path: str | Path | None = None) -> ServingConfig:
    """Parse and check conf/serving.yml; a missing or unknown value is an error, not a default."""
    source = Path(path) if path else project_file(CONFIG_FILE)
    raw = yaml.safe_load(source.read_text())
    targets = raw["endpoint"]["targets"]
    if set(targets) != set(config.CATALOGS):
        raise ValueError(f"{source}: endpoint.targets must be exactly {sorted(config.CATALOGS)}")
    sizes = {}
    for target, spec in targets.items():
        if spec["workload_size"] not in WORKLOAD_SIZES:
            raise ValueError(f"{source}: {target}.workload_size must be one of {WORKLOAD_SIZES}")
        sizes[target] = EndpointSize(spec["workload_size"], bool(spec["scale_to_zero"]))
    budget = raw["smoke_check"].get("max_p99_ms")
    if budget is None:
        if not config.MONITORING:
            raise ValueError(f"{source}: smoke_check.max_p99_ms is missing")
        # One latency number for the project: the monitoring threshold.
        from .monitoring import load_config as load_monitoring_config

        budget = load_monitoring_config().limit("latency")
    capacity = (raw.get("online_store") or {}).get("capacity")
    if config.FEATURE_STORE and capacity not in CAPACITIES:
        raise ValueError(f"{source}: online_store.capacity must be one of {CAPACITIES}")
    return ServingConfig(sizes, int(raw["smoke_check"]["requests"]), float(budget), capacity)


# --- the endpoint --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointSpec:
    """Everything the serving job sets on the endpoint, as databricks-sdk request types."""

    name: str
    config: EndpointCoreConfigInput
    ai_gateway: AiGatewayConfig
    tags: list[EndpointTag]
    email_notifications: EmailNotifications | None
    permissions: list[ServingEndpointAccessControlRequest]

    @property
    def served_entity(self) -> ServedEntityInput:
        return self.config.served_entities[0]

    def as_dict(self) -> dict[str, Any]:
        """The create request in the shape of a bundle model_serving_endpoints resource."""
        core = self.config.as_dict()
        # The SDK type repeats the endpoint name for update calls; the resource has it once.
        core.pop("name", None)
        body = {
            "name": self.name,
            "config": core,
            "ai_gateway": self.ai_gateway.as_dict(),
            "tags": [tag.as_dict() for tag in self.tags],
        }
        if self.email_notifications is not None:
            body["email_notifications"] = self.email_notifications.as_dict()
        return body


def served_entity_name(names: Names, version: int) -> str:
    """Named after model and version, so the endpoint and its inference table say what served."""
    return bounded_name(f"{names.model_name}-{version}", ENDPOINT_CHARACTERS)


def endpoint_config(
    names: Names, target: str, version: int, cfg: ServingConfig
) -> EndpointCoreConfigInput:
    size = cfg.sizes[target]
    entity = ServedEntityInput(
        name=served_entity_name(names, version),
        entity_name=names.model,
        entity_version=str(version),
        workload_size=size.workload_size,
        scale_to_zero_enabled=size.scale_to_zero,
    )
    return EndpointCoreConfigInput(
        name=names.endpoint,
        served_entities=[entity],
        # One served entity takes all the traffic: the champion, nothing else.
        traffic_config=TrafficConfig(
            routes=[Route(served_entity_name=entity.name, traffic_percentage=100)]
        ),
    )


def inference_tables(names: Names) -> AiGatewayConfig:
    """Requests and responses logged to ``<catalog>.<schema>.<model>_serving_payload``."""
    return AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=names.catalog,
            schema_name=names.schema,
            table_name_prefix=names.serving_table_prefix,
            enabled=True,
        )
    )


def endpoint_permissions(
    target: str, reader_group: str | None, developer_group: str | None
) -> list[ServingEndpointAccessControlRequest]:
    """Readers may query; developers manage the dev endpoint and view the others.

    The deploying identity creates the endpoint and so owns it; its own rights are never changed.
    """
    acl = []
    if reader_group:
        acl.append(
            ServingEndpointAccessControlRequest(
                group_name=reader_group, permission_level=ServingEndpointPermissionLevel.CAN_QUERY
            )
        )
    if developer_group:
        level = (
            ServingEndpointPermissionLevel.CAN_MANAGE
            if target == "dev"
            else ServingEndpointPermissionLevel.CAN_VIEW
        )
        acl.append(
            ServingEndpointAccessControlRequest(group_name=developer_group, permission_level=level)
        )
    return acl


def endpoint_spec(
    names: Names,
    target: str,
    version: int,
    cfg: ServingConfig,
    reader_group: str | None = None,
    developer_group: str | None = None,
    alert_email: str | None = None,
) -> EndpointSpec:
    return EndpointSpec(
        name=names.endpoint,
        config=endpoint_config(names, target, version, cfg),
        ai_gateway=inference_tables(names),
        tags=[
            EndpointTag(key="project", value=config.PROJECT),
            EndpointTag(key="target", value=target),
        ],
        email_notifications=(
            EmailNotifications(on_update_failure=[alert_email]) if alert_email else None
        ),
        permissions=endpoint_permissions(target, reader_group, developer_group),
    )


@dataclass(frozen=True)
class DeployResult:
    endpoint: str
    version: int
    served_entity: str
    action: str  # created, updated or unchanged
    online_tables: dict[str, str]


def deploy(
    platform: Platform,
    names: Names,
    target: str,
    cfg: ServingConfig,
    reader_group: str | None = None,
    developer_group: str | None = None,
    alert_email: str | None = None,
) -> DeployResult:
    """Point the endpoint at the current champion (creating it the first time)."""
    version = _champion(names)
    # The endpoint looks features up online: the tables must exist before it starts. Their
    # content is kept fresh by the feature runs, so nothing is re-synced here.
    published = publish_features(platform, names, target, cfg, refresh=False)
    spec = endpoint_spec(names, target, version, cfg, reader_group, developer_group, alert_email)
    action = platform.deploy_endpoint(spec)
    return DeployResult(spec.name, version, spec.served_entity.name, action, published)


def publish_features(
    platform: Platform, names: Names, target: str, cfg: ServingConfig, refresh: bool = True
) -> dict[str, str]:
    """Publish (or refresh) the feature tables in the online store, where the endpoint reads them.

    Only where the endpoint does the feature lookups itself (feature store on Databricks); with
    plain tables, and locally, requests carry the features.
    """
    if not platform.serves_feature_lookups:
        return {}
    tables = {lookup.table: names.online_table(lookup.table) for lookup in feature_lookups(names)}
    return platform.publish_online_features(
        config.online_store(target), cfg.online_store_capacity or CAPACITIES[0], tables, refresh
    )


def _champion(names: Names) -> int:
    """The version the endpoint serves: the current champion."""
    version = champion_version(MlflowClient(), names.model)
    if version is None:
        raise NoChampionError(f"{names.model} has no @{CHAMPION}; nothing to serve yet")
    return version


# --- the smoke check -----------------------------------------------------------------------------


def smoke_request(platform: Platform, names: Names, version: int, rows: int = 5) -> dict[str, Any]:
    """A ``dataframe_split`` request of real rows, with the columns the served model takes.

    With feature lookups on the endpoint those are the lookup keys; otherwise the inputs of the
    version's signature, in its order and types, joined from the feature tables.
    """
    keys = (
        platform.read_table(names.labels).select(*KEYS).dropDuplicates().orderBy(*KEYS).limit(rows)
    )
    if platform.serves_feature_lookups:
        columns, frame = list(KEYS), keys
    else:
        inputs = get_model_info(f"models:/{names.model}/{version}").signature.inputs
        columns = inputs.input_names()
        joined = join_features(platform, keys, feature_lookups(names))
        frame = joined.select(
            *(F.col(spec.name).cast(spec.type.to_spark().simpleString()) for spec in inputs.inputs)
        )
    data = [[_json_value(value) for value in row] for row in frame.collect()]
    if not data:
        raise SmokeCheckError(f"{names.labels} has no rows to build a request from")
    return {"columns": columns, "data": data}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; the served model's imputer takes a null instead
    return value


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value at or above ``q`` percent of the values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class SmokeResult:
    endpoint: str
    version: int
    requests: int
    rows_per_request: int
    p50_ms: float
    p99_ms: float
    max_p99_ms: float


def smoke_check(platform: Platform, names: Names, cfg: ServingConfig) -> SmokeResult:
    """Query the endpoint like a client would; raise SmokeCheckError on an error or a slow p99."""
    version = _champion(names)
    request = smoke_request(platform, names, version)
    expected = len(request["data"])
    # The first request may meet a cold start (scale to zero); it must succeed, not be fast.
    _predictions(platform, names.endpoint, request, expected)
    latencies = []
    for _ in range(cfg.smoke_requests):
        started = time.perf_counter()
        _predictions(platform, names.endpoint, request, expected)
        latencies.append((time.perf_counter() - started) * 1000)
    platform.flush_inference_tables()
    result = SmokeResult(
        endpoint=names.endpoint,
        version=version,
        requests=len(latencies),
        rows_per_request=expected,
        p50_ms=round(percentile(latencies, 50), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_p99_ms=cfg.max_p99_ms,
    )
    if result.p99_ms > cfg.max_p99_ms:
        raise SmokeCheckError(
            f"{names.endpoint}: p99 {result.p99_ms:.0f} ms over {cfg.smoke_requests} requests "
            f"exceeds the budget of {cfg.max_p99_ms:g} ms"
        )
    return result


def _predictions(platform: Platform, endpoint: str, request: dict[str, Any], expected: int) -> list:
    try:
        response = platform.query_endpoint(endpoint, request)
    except Exception as error:  # any failure to answer is what the smoke check exists to catch
        raise SmokeCheckError(f"{endpoint} failed to answer: {error}") from error
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list) or len(predictions) != expected:
        raise SmokeCheckError(
            f"{endpoint} answered {str(response)[:300]!r}; expected {expected} predictions"
        )
    return predictions

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
"""The serving stages: point the endpoint at the champion, then smoke-check it like a client."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlflow.models import get_model_info
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..config import Names
from ..contract import ModelSpec
from ..errors import Refusal
from ..inference import require_champion
from ..model import MODEL
from ..runtime import Runtime, join_features
from ..train import feature_lookups
from .backend import Endpoints
from .databricks import DatabricksEndpoints
from .endpoint import endpoint_name, endpoint_spec
from .local import LocalEndpoints
{%- if fs %}
from .online_store import publish_features
{%- endif %}
from .settings import ServingConfig


class SmokeCheckError(Refusal):
    """The endpoint answered wrongly, or too slowly, after a deployment."""


def endpoints_of(runtime: Runtime) -> Endpoints:
    """The serving endpoints of the runtime the command runs in."""
    return runtime.choose(local=LocalEndpoints, databricks=DatabricksEndpoints)(runtime)


@dataclass(frozen=True)
class DeployResult:
    endpoint: str
    version: int
    served_entity: str
    action: str  # created, updated or unchanged
{%- if fs %}
    online_tables: dict[str, str]
{%- endif %}


def deploy(
    runtime: Runtime,
    names: Names,
    target: str,
    cfg: ServingConfig,
    reader_group: str | None = None,
    developer_group: str | None = None,
    alert_email: str | None = None,
) -> DeployResult:
    """Point the endpoint at the current champion (creating it the first time)."""
    version = require_champion(names)
    endpoints = endpoints_of(runtime)
{%- if fs %}
    # The endpoint looks features up online: the tables must exist before it starts. Their
    # content is kept fresh by the feature runs, so nothing is re-synced here.
    published = publish_features(endpoints, names, target, cfg, refresh=False)
{%- endif %}
    spec = endpoint_spec(names, target, version, cfg, reader_group, developer_group, alert_email)
    action = endpoints.deploy(spec)
    return DeployResult(spec.name, version, spec.served_entity.name, action{% if fs %}, published{% endif %})


# --- the smoke check -----------------------------------------------------------------------------


def smoke_request(
    runtime: Runtime,
    endpoints: Endpoints,
    names: Names,
    version: int,
    rows: int = 5,
    model: ModelSpec = MODEL,
) -> dict[str, Any]:
    """A ``dataframe_split`` request of real rows, with the columns the served model takes.

{%- if fs %}
    With feature lookups on the endpoint those are the lookup keys; otherwise the inputs of the
    version's signature, in its order and types, joined from the feature tables.
{%- else %}
    The inputs of the version's signature, in its order and types, joined from the feature tables.
{%- endif %}
    """
    labels = names.table(model.labels.name)
    keys = runtime.read_table(labels).select(*model.keys).dropDuplicates()
    keys = keys.orderBy(*model.keys).limit(rows)
{%- if fs %}
    if endpoints.looks_up_features:
        return _request(list(model.keys), keys, labels)
{%- endif %}
    inputs = get_model_info(f"models:/{names.model}/{version}").signature.inputs
    joined = join_features(runtime, keys, feature_lookups(names, model))
    frame = joined.select(
        *(F.col(spec.name).cast(spec.type.to_spark().simpleString()) for spec in inputs.inputs)
    )
    return _request(inputs.input_names(), frame, labels)


def _request(columns: list[str], frame: DataFrame, labels: str) -> dict[str, Any]:
    data = [[_json_value(value) for value in row] for row in frame.collect()]
    if not data:
        raise SmokeCheckError(f"{labels} has no rows to build a request from")
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


def smoke_check(runtime: Runtime, names: Names, cfg: ServingConfig) -> SmokeResult:
    """Query the endpoint like a client would; raise SmokeCheckError on an error or a slow p99."""
    version = require_champion(names)
    endpoints = endpoints_of(runtime)
    name = endpoint_name(names)
    request = smoke_request(runtime, endpoints, names, version)
    latencies = timed_requests(endpoints, name, request, cfg.smoke_requests)
    endpoints.flush_inference_tables()
    return judge(name, version, len(request["data"]), latencies, cfg)


def timed_requests(
    endpoints: Endpoints, name: str, request: dict[str, Any], count: int
) -> list[float]:
    """One warm-up request, then ``count`` timed ones; milliseconds each."""
    expected = len(request["data"])
    # The first request may meet a cold start (scale to zero); it must succeed, not be fast.
    _predictions(endpoints, name, request, expected)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        _predictions(endpoints, name, request, expected)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def judge(
    name: str, version: int, rows: int, latencies: Sequence[float], cfg: ServingConfig
) -> SmokeResult:
    """The smoke check's verdict on the measured latencies: raise when the p99 is over budget."""
    result = SmokeResult(
        endpoint=name,
        version=version,
        requests=len(latencies),
        rows_per_request=rows,
        p50_ms=round(percentile(latencies, 50), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_p99_ms=cfg.max_p99_ms,
    )
    if result.p99_ms > cfg.max_p99_ms:
        raise SmokeCheckError(
            f"{name}: p99 {result.p99_ms:.0f} ms over {len(latencies)} requests "
            f"exceeds the budget of {cfg.max_p99_ms:g} ms"
        )
    return result


def _predictions(
    endpoints: Endpoints, endpoint: str, request: dict[str, Any], expected: int
) -> list:
    try:
        response = endpoints.query(endpoint, request)
    except Exception as error:  # any failure to answer is what the smoke check exists to catch
        raise SmokeCheckError(f"{endpoint} failed to answer: {error}") from error
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list) or len(predictions) != expected:
        raise SmokeCheckError(
            f"{endpoint} answered {str(response)[:300]!r}; expected {expected} predictions"
        )
    return predictions

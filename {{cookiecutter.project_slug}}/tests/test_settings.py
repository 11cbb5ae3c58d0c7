{%- set fs = cookiecutter.include_feature_store == "yes" -%}
{%- set serving = cookiecutter.include_serving == "yes" -%}
{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
"""Every key of conf/*.yml is live: each is changed in turn, and a decision or an output of the
package that reads it must change. A key that nothing reads, or a new key without a probe here,
fails this test."""

from __future__ import annotations

{% if monitoring -%}
import dataclasses
{% endif -%}
import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from pyspark.sql import SparkSession

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.data_quality import DataQualityError, check_quality
from {{ cookiecutter.package_name }}.model import MODEL
{%- if monitoring %}
from {{ cookiecutter.package_name }}.monitoring import settings as monitoring_settings
from {{ cookiecutter.package_name }}.monitoring.checks import (
    CheckResult,
    audit_check,
    decide,
{%- if not serving %}
    latency_check,
{%- endif %}
    table_checks,
)
from {{ cookiecutter.package_name }}.monitoring.run import latency_table, monitor_spec
{%- endif %}
{%- if serving %}
from {{ cookiecutter.package_name }}.serving import settings as serving_settings
from {{ cookiecutter.package_name }}.serving.backend import Endpoints
from {{ cookiecutter.package_name }}.serving.deploy import judge, timed_requests
from {{ cookiecutter.package_name }}.serving.endpoint import EndpointSpec, endpoint_spec
{%- endif %}
{%- if serving and fs %}
from {{ cookiecutter.package_name }}.serving.online_store import publish_features
{%- endif %}
from {{ cookiecutter.package_name }}.settings import Thresholds, load_thresholds
from {{ cookiecutter.package_name }}.validation import compare_with_champion, limit_checks

CONF = Path(__file__).resolve().parents[1] / "conf"
NAMES = Names.resolve("dev")
Key = tuple[str, ...]


def leaves(data: Any, prefix: Key = ()) -> dict[Key, Any]:
    """Every setting of a file: dotted path -> value (a list is one setting)."""
    if isinstance(data, dict):
        found = {}
        for key, value in data.items():
            found |= leaves(value, (*prefix, str(key)))
        return found
    return {prefix: data}


def with_value(data: Any, key: Key, value: Any) -> Any:
    changed = yaml.safe_load(yaml.safe_dump(data))
    target = changed
    for part in key[:-1]:
        target = target[part]
    target[key[-1]] = value
    return changed


class Files:
    """The conf files of the project, loaded as the package loads them, from a folder of copies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def thresholds(self) -> Thresholds:
        return load_thresholds(MODEL, self.path("thresholds.yml"))
{%- if monitoring %}

    @property
    def monitoring(self) -> monitoring_settings.MonitoringConfig:
        return monitoring_settings.load_config(self.thresholds, MODEL, self.path("monitoring.yml"))
{%- endif %}
{%- if serving %}

    @property
    def serving(self) -> serving_settings.ServingConfig:
        return serving_settings.load_config(self.thresholds, self.path("serving.yml"))
{%- endif %}


# --- the probes: what each setting decides ------------------------------------------------------

Probe = Callable[[Files, Key, SparkSession], Any]
ORIGINAL = Files(CONF)


def promotion_limit(files: Files, key: Key, spark: SparkSession) -> Any:
    # Metrics exactly at the shipped limits pass; a moved limit changes the verdict.
    at_limits = {limit.metric: limit.value for limit in ORIGINAL.thresholds.promotion.limits}
    return [ok for ok, _ in limit_checks(at_limits, files.thresholds.promotion)]


def move_limit(key: Key, value: float) -> float:
    """A minimum goes up, a maximum goes down: either way the shipped value no longer passes."""
    return value * 1.5 + 0.01 if key[-1] == "min" else value / 2 - 0.01


def min_improvement(files: Files, key: Key, spark: SparkSession) -> bool:
    metric = MODEL.metric(MODEL.primary_metric)
    gain = 0.01 if metric.higher_is_better else -0.01
    champion = {metric.name: 0.5}
    candidate = {metric.name: 0.5 + gain}
    return compare_with_champion(
        candidate, champion, 1, files.thresholds.promotion.min_improvement
    )[0]


def sparse_frame(spark: SparkSession) -> Any:
    """Ten rows, one null in ``x``: a 10 % null rate."""
    return spark.createDataFrame(pd.DataFrame({"k": range(10), "x": [None] + [1.0] * 9}))


def gate(files: Files, key: Key, spark: SparkSession) -> Any:
    quality = files.thresholds.data_quality
    try:
        report = check_quality(
            "t", sparse_frame(spark), ["k"], None, quality.max_null_rate, quality.action
        )
    except DataQualityError:
        return "refused"
    return sorted(report.too_sparse)


PROBES: dict[str, tuple[Callable[[Key, Any], Any], Probe]] = {
    "thresholds.yml:promotion.limits.*.*": (move_limit, promotion_limit),
    "thresholds.yml:promotion.min_improvement": (lambda k, v: 0.05, min_improvement),
    "thresholds.yml:data_quality.max_null_rate": (lambda k, v: 0.5, gate),
    "thresholds.yml:data_quality.action": (lambda k, v: "alert" if v == "block" else "block", gate),
}
{%- if serving %}


def smoke_budget(files: Files, key: Key, spark: SparkSession) -> Any:
    # Latencies just under the shipped budget are within it; a lower budget puts them over.
    budget = ORIGINAL.serving.max_p99_ms
    return judge("e", 1, 5, [budget * 0.9] * 20, files.serving).over_budget


PROBES["thresholds.yml:latency.max_p99_ms"] = (lambda k, v: v / 4, smoke_budget)


class CountingEndpoints(Endpoints):
    """Answers every request with one prediction per row and counts them."""

    def __init__(self) -> None:
        self.queries = 0
        self.published: list[Any] = []

    def deploy(self, spec: EndpointSpec) -> str:
        return "unchanged"

    def query(
        self, name: str, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        self.queries += 1
        return {"predictions": [0] * len(request["data"])}
{%- if fs %}

    looks_up_features = True

    def publish_online_features(
        self,
        store: str,
        settings: serving_settings.OnlineStoreSettings,
        tables: dict[str, str],
        refresh: bool = True,
    ) -> dict[str, str]:
        self.published.append(settings)
        return dict.fromkeys(tables, "published")
{%- endif %}


def smoke_requests(files: Files, key: Key, spark: SparkSession) -> int:
    endpoints = CountingEndpoints()
    timed_requests(
        endpoints, "e", {"columns": ["x"], "data": [[1.0]]}, files.serving.smoke_requests
    )
    return endpoints.queries


def endpoint_size(files: Files, key: Key, spark: SparkSession) -> Any:
    target = key[2]
    entity = endpoint_spec(NAMES, target, 1, files.serving).served_entity
    return entity.workload_size, entity.scale_to_zero_enabled


def other_size(key: Key, value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    return "Medium" if value != "Medium" else "Large"


PROBES["serving.yml:endpoint.targets.*.*"] = (other_size, endpoint_size)
PROBES["serving.yml:smoke_check.requests"] = (lambda k, v: v + 3, smoke_requests)
{%- if fs %}


def online_store(files: Files, key: Key, spark: SparkSession) -> list[Any]:
    # What the store is created with, and how long a refresh waits for a running sync (the
    # waiting itself is driven in tests/serving against the Databricks implementation).
    endpoints = CountingEndpoints()
    publish_features(endpoints, NAMES, "dev", files.serving)
    return endpoints.published


PROBES["serving.yml:online_store.capacity"] = (
    lambda k, v: "CU_2" if v != "CU_2" else "CU_4",
    online_store,
)
PROBES["serving.yml:online_store.sync_timeout_minutes"] = (lambda k, v: v * 2, online_store)
{%- endif %}
{%- endif %}
{%- if monitoring %}
{%- if not serving %}


def latency_limit(files: Files, key: Key, spark: SparkSession) -> bool:
    budget = ORIGINAL.monitoring.limit("latency")
    payload = spark.createDataFrame([(budget * 0.9,)] * 20, ["execution_duration_ms"])
    return latency_check(payload, files.monitoring).ok


PROBES["thresholds.yml:latency.max_p99_ms"] = (lambda k, v: v / 4, latency_limit)
{%- endif %}


def scored(spark: SparkSession, shift: float = 0.0, wrong: int = 0, moved: int = 0) -> Any:
    """200 scored rows with a feature ``x``: ``shift`` moves ``x``, the first ``wrong`` rows get a
    bad label and the last ``moved`` rows a higher prediction."""
    classification = MODEL.problem_type == "classification"
    rows = []
    for i in range(200):
        label = float(i % 2)
        prediction = label if classification else label + 1.0
        if i < wrong:
            label = 1.0 - label if classification else label + 5.0
        if i >= 200 - moved:
            prediction = 1.0 if classification else prediction + 3.0
        rows.append((float(i % 17) + shift, prediction, label))
    frame = spark.createDataFrame(rows, ["x", "prediction", MODEL.label])
    kind = "long" if classification else "double"
    return frame.selectExpr("x", f"cast(prediction as {kind}) as prediction", MODEL.label)


def check_of(name: str) -> Probe:
    def probe(files: Files, key: Key, spark: SparkSession) -> Any:
        baseline, current = scored(spark), scored(spark, shift=8.0, wrong=30, moved=80)
        result = {r.check: r for r in table_checks(baseline, current, files.monitoring, MODEL)}[
            name
        ]
        return result.ok, result.value, result.detail

    return probe


def action_of(name: str) -> Probe:
    def probe(files: Files, key: Key, spark: SparkSession) -> Any:
        cfg = files.monitoring
        violation = CheckResult(name, False, 1.0, cfg.limit(name), cfg.checks[name].action, "")
        return decide([violation]).retrain

    return probe


def other_metric(key: Key, value: str) -> str:
    return next(name for name in MODEL.metric_names if name != value)


def audit(files: Files, key: Key, spark: SparkSession) -> Any:
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    table = NAMES.predictions
    events = [(now - timedelta(hours=hours), "getTable", table, 403) for hours in (1, 30)]
    spark.createDataFrame(
        [
            (
                when,
                1,
                "unityCatalog",
                action,
                ("x@example.com",),
                "10.0.0.1",
                {"full_name_arg": name},
                (code, "denied"),
            )
            for when, action, name, code in events
        ],
        "event_time timestamp, workspace_id long, service_name string, action_name string, "
        "user_identity struct<email:string>, source_ip_address string, "
        "request_params map<string,string>, response struct<status_code:int,error_message:string>",
    ).createOrReplaceTempView("settings_audit")
    result = audit_check(_SparkOnly(spark), NAMES, files.monitoring, table="settings_audit")
    return result.ok, result.value


@dataclasses.dataclass
class _SparkOnly:
    """What audit_check needs of a runtime: its Spark session."""

    spark: SparkSession


def monitor(files: Files, key: Key, spark: SparkSession) -> dict[str, Any]:
    return monitor_spec(files.monitoring, NAMES, "/Workspace/monitoring", MODEL)


def latency_source(files: Files, key: Key, spark: SparkSession) -> str:
    return latency_table(files.monitoring, NAMES)


def other_value(key: Key, value: Any) -> Any:
    if isinstance(value, list):
        return [*value, "x-" + str(value[0])] if key[-1] != "granularities" else ["1 hour"]
    if key[-1] == "quartz_cron_expression":
        return "0 30 7 * * ?"
    return "Europe/Paris"


PROBES |= {
    "thresholds.yml:monitoring.model_quality.metric": (other_metric, check_of("model_quality")),
    "thresholds.yml:monitoring.model_quality.max_relative_drop": (
        lambda k, v: 100.0,
        check_of("model_quality"),
    ),
    "thresholds.yml:monitoring.data_drift.max_psi": (lambda k, v: 1000.0, check_of("data_drift")),
    "thresholds.yml:monitoring.data_drift.bins": (lambda k, v: 3, check_of("data_drift")),
    "thresholds.yml:monitoring.prediction_drift.max_change": (
        lambda k, v: 1.0,
        check_of("prediction_drift"),
    ),
    "thresholds.yml:monitoring.latency.table": (
        lambda k, v: "other.schema.payload",
        latency_source,
    ),
    "thresholds.yml:monitoring.access_audit.lookback_hours": (lambda k, v: 48, audit),
    "thresholds.yml:monitoring.access_audit.max_denied": (lambda k, v: 5, audit),
    "monitoring.yml:monitor.*": (other_value, monitor),
}
for check in monitoring_settings.CHECKS:
    PROBES[f"thresholds.yml:monitoring.{check}.action"] = (
        lambda k, v: "retrain" if v == "alert" else "alert",
        action_of(check),
    )
{%- endif %}


def settings() -> list[tuple[str, Key, Any]]:
    found = []
    for path in sorted(CONF.glob("*.yml")):
        for key, value in leaves(yaml.safe_load(path.read_text())).items():
            found.append((path.name, key, value))
    return found


def probe_for(name: str, key: Key) -> tuple[Callable[[Key, Any], Any], Probe]:
    dotted = f"{name}:{'.'.join(key)}"
    matches = [pattern for pattern in PROBES if fnmatch.fnmatchcase(dotted, pattern)]
    assert matches, f"{dotted}: no probe says what it decides"
    assert len(matches) == 1, matches
    return PROBES[matches[0]]


@pytest.mark.parametrize(
    ("name", "key", "value"),
    settings(),
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
)
def test_setting_changes_a_decision(
    name: str, key: Key, value: Any, spark: SparkSession, tmp_path: Path
) -> None:
    mutate, probe = probe_for(name, key)
    before = probe(ORIGINAL, key, spark)
    for path in CONF.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    original = yaml.safe_load((CONF / name).read_text())
    (tmp_path / name).write_text(yaml.safe_dump(with_value(original, key, mutate(key, value))))
    after = probe(Files(tmp_path), key, spark)
    assert after != before, f"{name}: changing {'.'.join(key)} from {value!r} changed nothing"


def test_every_probe_has_a_setting() -> None:
    dotted = [f"{name}:{'.'.join(key)}" for name, key, _ in settings()]
    unused = [p for p in PROBES if not any(fnmatch.fnmatchcase(d, p) for d in dotted)]
    assert not unused, f"probes for settings that do not exist: {unused}"

"""Monitoring checks: every limit comes from conf/thresholds.yml, never from this file."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.context import CommandContext
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.monitoring.checks import (
    MONITOR_METRIC_COLUMNS,
    CheckResult,
    audit_check,
    decide,
    latency_check,
    metric_table_checks,
    table_checks,
)
from {{ cookiecutter.package_name }}.monitoring.commands import cmd_monitor
from {{ cookiecutter.package_name }}.monitoring.databricks import DatabricksMonitors
from {{ cookiecutter.package_name }}.monitoring.run import baseline_table, monitor_spec
from {{ cookiecutter.package_name }}.monitoring.settings import MonitoringConfig, load_config
from {{ cookiecutter.package_name }}.monitoring.statistics import (
    bucket_shares,
    prediction_change,
    psi,
    relative_drop,
)
from {{ cookiecutter.package_name }}.runtime.databricks import DatabricksRuntime
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
from {{ cookiecutter.package_name }}.settings import Thresholds

LABEL = MODEL.label


@pytest.fixture(scope="module")
def cfg(thresholds: Thresholds) -> MonitoringConfig:
    return load_config(thresholds, MODEL)


def features(spark: SparkSession, seed: int, rows: int = 8000) -> DataFrame:
    """Three numeric features with different shapes, drawn afresh for each seed."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(40, 12, rows), 18, 80).round()
    frame = pd.DataFrame(
        {"age": age, "fee": rng.choice([9.99, 14.99, 19.99], rows), "tickets": rng.poisson(1, rows)}
    )
    return spark.createDataFrame(frame)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_config_has_every_check_and_shares_the_gate_limits(
    cfg: MonitoringConfig, thresholds: Thresholds
) -> None:
    assert set(cfg.checks) == {
        "model_quality",
        "data_drift",
        "prediction_drift",
        "latency",
        "data_quality",
        "access_audit",
    }
    assert cfg.limit("data_quality") == thresholds.data_quality.max_null_rate
    assert cfg.limit("latency") == thresholds.raw["latency"]["max_p99_ms"]
    assert cfg.checks["model_quality"].action == "retrain"
    assert cfg.quality_metric in MODEL.metric_names


def test_psi_is_zero_on_the_same_sample(spark: SparkSession, cfg: MonitoringConfig) -> None:
    sample = features(spark, seed=3)
    columns = ["age", "fee", "tickets"]
    assert psi(sample, sample, columns, cfg.psi_bins) == pytest.approx(dict.fromkeys(columns, 0.0))
    other_seed = psi(sample, features(spark, seed=4), columns, cfg.psi_bins)
    assert max(other_seed.values()) <= cfg.limit("data_drift"), other_seed


def test_buckets_count_the_edges_below_a_value(spark: SparkSession) -> None:
    """A value on an edge stays below it; null and NaN have a bucket of their own, -1. Column names
    and edges reach Spark exactly, whatever their characters or size."""
    odd = "fee `per` month"
    values = [0.1, 0.2, 0.2, 0.30000000000000004, 1e300, float("inf"), None, float("nan")]
    schema = StructType([StructField(odd, DoubleType())])
    frame = spark.createDataFrame([(v,) for v in values], schema)
    edges = [0.2, 0.30000000000000004, float("inf")]
    shares = bucket_shares(frame, {odd: edges})[odd]
    expected = {0: 3 / 8, 1: 1 / 8, 2: 2 / 8, -1: 2 / 8}  # 0.3...04 is on its edge: bucket 1
    assert shares == pytest.approx(expected)


def test_psi_flags_a_shifted_feature(spark: SparkSession, cfg: MonitoringConfig) -> None:
    sample = features(spark, seed=3)
    shifted = features(spark, seed=4).withColumn("age", F.col("age") + 15)
    values = psi(sample, shifted, ["age", "fee"], cfg.psi_bins)
    assert values["age"] > cfg.limit("data_drift")
    assert values["fee"] <= cfg.limit("data_drift")


def scored(spark: SparkSession, predictions: list[int], labels: list[int]) -> DataFrame:
    pairs = enumerate(zip(predictions, labels, strict=True))
    rows = [(float(p), float(t), float(i % 7)) for i, (p, t) in pairs]
    return spark.createDataFrame(rows, ["prediction", LABEL, "x"])


def test_prediction_drift(spark: SparkSession, cfg: MonitoringConfig) -> None:
    problem_type = MODEL.problem_type
    baseline = scored(spark, [0] * 70 + [1] * 30, [0] * 100)
    assert prediction_change(baseline, baseline, problem_type, cfg.psi_bins) == 0.0
    moved = scored(spark, [0] * 40 + [1] * 60, [0] * 100)
    assert prediction_change(baseline, moved, problem_type, cfg.psi_bins) > cfg.limit(
        "prediction_drift"
    )


def test_quality_drop_on_degraded_labels(spark: SparkSession, cfg: MonitoringConfig) -> None:
    truth = [i % 2 for i in range(200)]
    allowed = cfg.limit("model_quality")
    if MODEL.problem_type == "classification":
        # Perfect on the baseline; wrong on four times the allowed share of rows.
        baseline = scored(spark, truth, truth)
        wrong = int(len(truth) * allowed * 4)
        degraded = scored(spark, truth, [1 - t for t in truth[:wrong]] + truth[wrong:])
    else:
        # Off by 1 on the baseline; by 1 + four times the allowed rise on the degraded labels.
        baseline = scored(spark, truth, truth).withColumn(LABEL, F.col(LABEL) + 1)
        degraded = scored(spark, truth, truth).withColumn(LABEL, F.col(LABEL) + 1 + 4 * allowed)
    metric = MODEL.metric(cfg.quality_metric)

    def measured(df: DataFrame) -> float:
        pdf = df.toPandas()
        return metric.compute(pdf[LABEL].to_numpy(), pdf["prediction"].to_numpy())

    expected = relative_drop(measured(baseline), measured(degraded), metric.higher_is_better)
    assert expected > allowed
    results = {r.check: r for r in table_checks(baseline, degraded, cfg, MODEL)}
    assert not results["model_quality"].ok
    assert results["model_quality"].value == pytest.approx(expected)
    assert results["prediction_drift"].ok
    assert decide(list(results.values())).retrain


def test_p99_latency_on_a_local_table(spark: SparkSession, cfg: MonitoringConfig) -> None:
    limit = cfg.limit("latency")
    fast = [(limit / 2,)] * 100
    table = spark.createDataFrame(fast, ["execution_duration_ms"])
    assert latency_check(table, cfg).ok
    slow_tail = spark.createDataFrame(fast[:95] + [(limit * 2,)] * 5, ["execution_duration_ms"])
    result = latency_check(slow_tail, cfg)
    assert not result.ok
    assert result.value == pytest.approx(limit * 2)


def test_decide_maps_violations_to_actions() -> None:
    def result(check: str, ok: bool, action: str) -> CheckResult:
        return CheckResult(check, ok, None, 0.0, action, "")

    assert not decide([result("data_drift", True, "alert")]).alert
    drift = decide([result("data_drift", False, "alert")])
    assert (drift.alert, drift.retrain) == (True, False)
    quality = decide([result("model_quality", False, "retrain"), result("x", True, "alert")])
    assert (quality.alert, quality.retrain) == (True, True)
    assert [v.check for v in quality.violations] == ["model_quality"]


def test_monitor_after_the_lifecycle_then_on_degraded_labels(
    world: LocalRuntime, names: Names, capsys: pytest.CaptureFixture[str]
) -> None:
    version = str(run_json(capsys, "train")["version"])
    run_json(capsys, "promote", "--version", version, "--force")  # validation is not under test
    run_json(capsys, "batch-inference")

    healthy = run_json(capsys, "monitor")
    checks = {r["check"]: r for r in healthy["results"]}
    assert {"model_quality", "data_drift", "prediction_drift", "data_quality"} <= set(checks)
    assert (healthy["alert"], healthy["retrain"]) == (False, False), healthy["violations"]
    assert world.read_table(baseline_table(names)).count() > 0

    labels_table = names.table(MODEL.labels.name)
    labels = world.read_table(labels_table)
    if MODEL.problem_type == "classification":
        wrong = labels.withColumn(LABEL, 1 - F.col(LABEL))
    else:
        wrong = labels.withColumn(LABEL, F.col(LABEL) * 3)
    world.write_table(labels_table, wrong.localCheckpoint())
    run_json(capsys, "batch-inference")

    degraded = run_json(capsys, "monitor")
    assert degraded["retrain"] is True
    assert [v["check"] for v in degraded["violations"]] == ["model_quality"]


def test_monitor_task_sets_task_values_without_a_champion(world: LocalRuntime) -> None:
    args = cli.build_parser().parse_args(["monitor", "--runtime", "local"])
    ctx = CommandContext(args, io.StringIO())
    ctx._runtime = world
    cmd_monitor(ctx)
    # No champion yet: nothing to check, nothing to retrain.
    assert world.task_values == {"retrain": False, "alert": False, "violations": ""}


def test_monitor_spec_matches_the_problem_type(cfg: MonitoringConfig, names: Names) -> None:
    spec = monitor_spec(cfg, names, "/Workspace/monitoring")
    assert spec["table_name"] == names.predictions
    assert spec["baseline_table_name"] == baseline_table(names)
    assert spec["output_schema_name"] == f"{names.catalog}.{names.schema}"
    log = spec["inference_log"]
    assert log["problem_type"] == f"PROBLEM_TYPE_{MODEL.problem_type.upper()}"
    assert (log["prediction_col"], log["label_col"]) == ("prediction", LABEL)
    assert (log["model_id_col"], log["timestamp_col"]) == ("model_version", "scored_at")
    assert log["granularities"] == cfg.monitor["granularities"]
    assert (spec["schedule"], spec["notifications"]) == (
        cfg.monitor["schedule"],
        cfg.monitor["notifications"],
    )


class FakeMonitors:
    """Stands in for WorkspaceClient().quality_monitors."""

    def __init__(self) -> None:
        self.existing: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, table_name: str) -> None:
        from databricks.sdk.errors import NotFound

        if table_name not in self.existing:
            raise NotFound(f"no monitor on {table_name}")

    def create(self, **kwargs: Any) -> None:
        self.calls.append(("create", kwargs))
        self.existing.add(kwargs["table_name"])

    def update(self, **kwargs: Any) -> None:
        self.calls.append(("update", kwargs))


def test_databricks_monitor_is_created_once_then_updated(
    cfg: MonitoringConfig, names: Names
) -> None:
    client = type("Client", (), {"quality_monitors": FakeMonitors()})()
    spec = monitor_spec(cfg, names, "/Workspace/Users/me/.bundle/x/dev/monitoring")
    monitors = DatabricksMonitors(DatabricksRuntime(workspace=client))
    assert monitors.ensure(spec) == "created"
    assert monitors.ensure(spec) == "updated"
    (first, created), (second, updated) = client.quality_monitors.calls
    assert (first, second) == ("create", "update")
    assert created["assets_dir"] == spec["assets_dir"]
    assert "assets_dir" not in updated  # not updatable
    log = created["inference_log"]
    assert log.problem_type.value == spec["inference_log"]["problem_type"]
    assert created["baseline_table_name"] == baseline_table(names)


def test_access_audit_counts_denied_requests_on_this_schema(
    runtime: LocalRuntime, names: Names, cfg: MonitoringConfig
) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    ours = f"{names.catalog}.{names.schema}.{names.model_name}_predictions"
    theirs = f"{names.catalog}.other_schema.t"
    recent, old = now - timedelta(hours=1), now - timedelta(hours=cfg.audit_lookback_hours + 5)
    events = [
        (recent, "getTable", ours, 403, "PERMISSION_DENIED: User does not have SELECT"),
        (recent, "getTable", ours, 200, None),
        (recent, "getTable", theirs, 403, "PERMISSION_DENIED"),
        (old, "getTable", ours, 403, "PERMISSION_DENIED"),
        (recent, "generateTemporaryTableCredential", ours, 401, None),
    ]
    audit = runtime.spark.createDataFrame(
        [
            (
                when,
                1,
                "unityCatalog",
                action,
                ("x@example.com",),
                "10.0.0.1",
                {"full_name_arg": n},
                (code, message),
            )
            for when, action, n, code, message in events
        ],
        "event_time timestamp, workspace_id long, service_name string, action_name string, "
        "user_identity struct<email:string>, source_ip_address string, "
        "request_params map<string,string>, response struct<status_code:int,error_message:string>",
    )
    audit.createOrReplaceTempView("audit_log")
    result = audit_check(runtime, names, cfg, table="audit_log")
    assert result.value == 2
    assert not result.ok
    assert "x@example.com getTable" in result.detail


def test_metric_tables_of_the_monitor_are_read(
    runtime: LocalRuntime, names: Names, cfg: MonitoringConfig
) -> None:
    """The all-versions rows ("*" in the model id column) of the latest window decide; the rows
    of single versions, here a broken old version, do not."""
    metric = MONITOR_METRIC_COLUMNS[cfg.quality_metric]
    higher_is_better = MODEL.metric(cfg.quality_metric).higher_is_better
    start = datetime(2025, 7, 1)
    day1, day2 = (
        (start, start + timedelta(days=1)),
        (start + timedelta(days=1), start + timedelta(days=2)),
    )
    window = "struct<start:timestamp,end:timestamp>"
    day = cfg.granularity
    base_value = 0.8
    step = 2 * cfg.limit("model_quality")
    worse = base_value * (1 - step if higher_is_better else 1 + step)
    broken = base_value * (0.1 if higher_is_better else 10)
    profile = runtime.spark.createDataFrame(
        [
            (day1, day, "*", ":table", None, "BASELINE", base_value),
            (day1, day, "*", ":table", None, "INPUT", base_value),
            (day2, day, "*", ":table", None, "INPUT", worse),
            (day2, day, "1", ":table", None, "INPUT", broken),
        ],
        f"window {window}, granularity string, model_version string, column_name string, "
        f"slice_key string, log_type string, {metric} double",
    )
    drift_limit = cfg.limit("data_drift")
    moved = cfg.limit("prediction_drift") / 2
    far = cfg.limit("prediction_drift") * 5
    drift_schema = (
        f"window {window}, granularity string, model_version string, column_name string, "
        "slice_key string, drift_type string, population_stability_index double, "
        "tv_distance double, js_distance double"
    )
    drift = runtime.spark.createDataFrame(
        [
            (day1, day, "*", "age", None, "BASELINE", drift_limit * 3, None, None),
            (day1, day, "*", "prediction", None, "BASELINE", None, moved, moved),
            (day1, day, "1", "prediction", None, "BASELINE", None, far, far),
        ],
        drift_schema,
    )
    runtime.write_table(f"{names.predictions}_profile_metrics", profile)
    runtime.write_table(f"{names.predictions}_drift_metrics", drift)
    results = {r.check: r for r in metric_table_checks(runtime, names, cfg, MODEL)}
    assert results["model_quality"].value == pytest.approx(2 * cfg.limit("model_quality"))
    assert not results["model_quality"].ok
    assert not results["data_drift"].ok
    assert "age" in results["data_drift"].detail
    assert results["prediction_drift"].ok
    assert results["prediction_drift"].value == pytest.approx(moved)

    # The statistic the docs define for this prediction type is missing: nothing may pass
    # silently, so the checks fall back to the tables (None here).
    statistic = "tv_distance" if MODEL.problem_type == "classification" else "js_distance"
    unmeasured = drift.withColumn(statistic, F.lit(None).cast("double"))
    runtime.write_table(f"{names.predictions}_drift_metrics", unmeasured.localCheckpoint())
    assert metric_table_checks(runtime, names, cfg, MODEL) is None

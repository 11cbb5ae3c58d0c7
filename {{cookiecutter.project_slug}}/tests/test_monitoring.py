"""Monitoring checks: every limit comes from conf/monitoring.yml, never from this file."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import cli, config
from {{ cookiecutter.package_name }}.config import LABEL, Names
from {{ cookiecutter.package_name }}.features.quality import null_rate_limit
from {{ cookiecutter.package_name }}.monitoring import (
    CheckResult,
    MonitoringConfig,
    audit_check,
    decide,
    latency_check,
    load_config,
    metric_table_checks,
    monitor_spec,
    prediction_change,
    psi,
    table_checks,
)
from {{ cookiecutter.package_name }}.platform import DatabricksPlatform, LocalPlatform
from {{ cookiecutter.package_name }}.sample import generate


@pytest.fixture(scope="module")
def cfg() -> MonitoringConfig:
    return load_config()


def users(spark: SparkSession, seed: int) -> DataFrame:
    return spark.createDataFrame(generate(seed=seed, rows=8000).users).drop("signup_date")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main([*argv, "--platform", "local", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_config_has_every_check_and_the_gate_uses_it(cfg: MonitoringConfig) -> None:
    assert set(cfg.checks) == {
        "model_quality",
        "data_drift",
        "prediction_drift",
        "latency",
        "data_quality",
        "access_audit",
    }
    assert null_rate_limit() == cfg.limit("data_quality")
    assert cfg.checks["model_quality"].action == "retrain"
    assert cfg.checks["data_quality"].action == "block"


def test_psi_is_zero_on_the_same_sample(spark: SparkSession, cfg: MonitoringConfig) -> None:
    sample = users(spark, seed=3)
    columns = ["age", "monthly_fee", "support_tickets"]
    assert psi(sample, sample, columns, cfg.psi_bins) == pytest.approx(dict.fromkeys(columns, 0.0))
    other_seed = psi(sample, users(spark, seed=4), columns, cfg.psi_bins)
    assert max(other_seed.values()) <= cfg.limit("data_drift"), other_seed


def test_psi_flags_a_shifted_feature(spark: SparkSession, cfg: MonitoringConfig) -> None:
    sample = users(spark, seed=3)
    shifted = users(spark, seed=4).withColumn("age", F.col("age") + 15)
    values = psi(sample, shifted, ["age", "monthly_fee"], cfg.psi_bins)
    assert values["age"] > cfg.limit("data_drift")
    assert values["monthly_fee"] <= cfg.limit("data_drift")


def scored(spark: SparkSession, predictions: list[int], labels: list[int]) -> DataFrame:
    pairs = enumerate(zip(predictions, labels, strict=True))
    rows = [(float(p), float(t), float(i % 7)) for i, (p, t) in pairs]
    return spark.createDataFrame(rows, ["prediction", LABEL, "x"])


def test_prediction_drift(spark: SparkSession, cfg: MonitoringConfig) -> None:
    problem_type = config.problem_type()
    baseline = scored(spark, [0] * 70 + [1] * 30, [0] * 100)
    assert prediction_change(baseline, baseline, problem_type, cfg.psi_bins) == 0.0
    moved = scored(spark, [0] * 40 + [1] * 60, [0] * 100)
    assert prediction_change(baseline, moved, problem_type, cfg.psi_bins) > cfg.limit(
        "prediction_drift"
    )


def test_quality_drop_on_degraded_labels(spark: SparkSession, cfg: MonitoringConfig) -> None:
    problem_type = config.problem_type()
    truth = [i % 2 for i in range(200)]
    allowed = cfg.limit("model_quality")
    if problem_type == "classification":
        # Accuracy 1.0 on the baseline; wrong on four times the allowed share of rows.
        baseline = scored(spark, truth, truth)
        wrong = int(len(truth) * allowed * 4)
        degraded = scored(spark, truth, [1 - t for t in truth[:wrong]] + truth[wrong:])
    else:
        # RMSE 1 on the baseline; 1 + four times the allowed rise on the degraded labels.
        baseline = scored(spark, truth, truth).withColumn(LABEL, F.col(LABEL) + 1)
        degraded = scored(spark, truth, truth).withColumn(LABEL, F.col(LABEL) + 1 + 4 * allowed)
    results = {r.check: r for r in table_checks(baseline, degraded, problem_type, cfg)}
    assert not results["model_quality"].ok
    assert results["model_quality"].value == pytest.approx(4 * allowed)
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
    assert (drift.alert, drift.retrain, drift.block) == (True, False, False)
    quality = decide([result("model_quality", False, "retrain"), result("x", True, "block")])
    assert (quality.alert, quality.retrain, quality.block) == (True, True, False)
    assert decide([result("data_quality", False, "block")]).block


def test_monitor_after_the_lifecycle_then_on_degraded_labels(
    world: LocalPlatform, names: Names, capsys: pytest.CaptureFixture[str]
) -> None:
    version = str(run_json(capsys, "train")["version"])
    run_json(capsys, "promote", "--version", version)
    run_json(capsys, "batch-inference")

    healthy = run_json(capsys, "monitor")
    checks = {r["check"]: r for r in healthy["results"]}
    assert {"model_quality", "data_drift", "prediction_drift", "data_quality"} <= set(checks)
    assert (healthy["alert"], healthy["retrain"]) == (False, False), healthy["violations"]
    assert world.read_table(names.monitoring_baseline).count() > 0

    labels = world.read_table(names.labels)
    if config.problem_type() == "classification":
        wrong = labels.withColumn(LABEL, 1 - F.col(LABEL))
    else:
        wrong = labels.withColumn(LABEL, F.col(LABEL) * 3)
    world.write_table(names.labels, wrong.localCheckpoint())
    run_json(capsys, "batch-inference")

    degraded = run_json(capsys, "monitor")
    assert degraded["retrain"] is True
    assert [v["check"] for v in degraded["violations"]] == ["model_quality"]


def test_monitor_task_sets_task_values_without_a_champion(world: LocalPlatform) -> None:
    args = cli.build_parser().parse_args(["monitor", "--platform", "local"])
    stage = cli.Stage(args, io.StringIO())
    stage._platform = world
    cli.cmd_monitor(stage)
    # No champion yet: nothing to check, nothing to retrain.
    assert world.task_values == {"retrain": False, "alert": False, "violations": ""}
    assert world.monitors == {}


def test_monitor_spec_matches_the_problem_type(cfg: MonitoringConfig, names: Names) -> None:
    spec = monitor_spec(cfg, names, "/Workspace/monitoring")
    assert spec["table_name"] == names.predictions
    assert spec["baseline_table_name"] == names.monitoring_baseline
    assert spec["output_schema_name"] == f"{names.catalog}.{names.schema}"
    log = spec["inference_log"]
    assert log["problem_type"] == f"PROBLEM_TYPE_{config.problem_type().upper()}"
    assert (log["prediction_col"], log["label_col"]) == ("prediction", LABEL)
    assert (log["model_id_col"], log["timestamp_col"]) == ("model_version", "scored_at")
    assert spec["notifications"]["on_failure"]["email_addresses"] == [cfg.alert_email]


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
    platform = DatabricksPlatform()
    assert platform.ensure_quality_monitor(spec, client=client) == "created"
    assert platform.ensure_quality_monitor(spec, client=client) == "updated"
    (first, created), (second, updated) = client.quality_monitors.calls
    assert (first, second) == ("create", "update")
    assert created["assets_dir"] == spec["assets_dir"]
    assert "assets_dir" not in updated  # not updatable
    log = created["inference_log"]
    assert log.problem_type.value == cfg.monitor["inference_log"]["problem_type"]
    assert created["baseline_table_name"] == names.monitoring_baseline


def test_access_audit_counts_denied_requests_on_this_schema(
    platform: LocalPlatform, names: Names, cfg: MonitoringConfig
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
    audit = platform.spark.createDataFrame(
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
    result = audit_check(platform, names, cfg, table="audit_log")
    assert result.value == 2
    assert not result.ok
    assert "x@example.com getTable" in result.detail


def test_metric_tables_of_the_monitor_are_read(
    platform: LocalPlatform, names: Names, cfg: MonitoringConfig
) -> None:
    problem_type = config.problem_type()
    metric = "accuracy_score" if problem_type == "classification" else "root_mean_squared_error"
    start = datetime(2025, 7, 1)
    window = "struct<start:timestamp,end:timestamp>"
    base_value = 0.8
    worse = base_value * (1 - 2 * cfg.limit("model_quality"))
    if problem_type == "regression":
        worse = base_value * (1 + 2 * cfg.limit("model_quality"))
    profile = platform.spark.createDataFrame(
        [
            ((start, start + timedelta(days=1)), "1 day", ":table", None, "BASELINE", base_value),
            ((start, start + timedelta(days=1)), "1 day", ":table", None, "INPUT", base_value),
            (
                (start + timedelta(days=1), start + timedelta(days=2)),
                "1 day",
                ":table",
                None,
                "INPUT",
                worse,
            ),
        ],
        f"window {window}, granularity string, column_name string, slice_key string, "
        f"log_type string, {metric} double",
    )
    drift_limit = cfg.limit("data_drift")
    moved = cfg.limit("prediction_drift") / 2
    drift = platform.spark.createDataFrame(
        [
            ((start, start), "1 day", "age", None, "BASELINE", drift_limit * 3, None, None),
            ((start, start), "1 day", "prediction", None, "BASELINE", None, moved, moved),
        ],
        f"window {window}, granularity string, column_name string, slice_key string, "
        "drift_type string, population_stability_index double, tv_distance double, "
        "js_distance double",
    )
    platform.write_table(f"{names.predictions}_profile_metrics", profile)
    platform.write_table(f"{names.predictions}_drift_metrics", drift)
    results = {r.check: r for r in metric_table_checks(platform, names, problem_type, cfg)}
    assert results["model_quality"].value == pytest.approx(2 * cfg.limit("model_quality"))
    assert not results["model_quality"].ok
    assert not results["data_drift"].ok
    assert "age" in results["data_drift"].detail
    assert results["prediction_drift"].ok

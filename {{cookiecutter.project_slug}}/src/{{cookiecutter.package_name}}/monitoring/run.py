{%- set serving = cookiecutter.include_serving == "yes" -%}
"""The monitor stage: refresh the baseline, ensure the Lakehouse monitor, run every check.

Every check compares the latest scored batch of the inference table with a baseline: the holdout
split scored by the current champion (``baseline_table``, rewritten whenever the champion
changes). On Databricks the Lakehouse monitor's metric tables (``<inference table>_profile_metrics``
and ``_drift_metrics``) are read where they exist; before its first refresh, and locally, the same
checks are computed here with Spark.

The monitor itself is created by ``ensure`` after the inference table exists, because a monitor
cannot be created on a missing table (see README, "Monitoring").
"""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient
from pyspark.sql import functions as F

from ..config import MODEL_VERSION, PREDICTION, SCORED_AT, Names
from ..contract import ModelSpec
from ..model import MODEL
from ..registry import champion_version
from ..runtime import Runtime
{%- if serving %}
from ..serving.endpoint import payload_table
{%- endif %}
from ..train import feature_lookups, read_labels, split_labels
from .backend import Monitors
from .checks import (
    INFERENCE_COLUMNS,
    CheckResult,
    Verdict,
    audit_check,
    decide,
    feature_columns,
    latency_check,
    latest_batch,
    metric_table_checks,
    null_rate_check,
    table_checks,
)
from .databricks import DatabricksMonitors
from .local import LocalMonitors
from .settings import MonitoringConfig


def monitors_of(runtime: Runtime) -> Monitors:
    """The Lakehouse monitors of the runtime the command runs in."""
    return runtime.choose(local=LocalMonitors, databricks=DatabricksMonitors)(runtime)


def baseline_table(names: Names) -> str:
    """The champion's scored holdout: what the monitor compares the predictions with."""
    return names.table(f"{names.model_name}_predictions_baseline")


def write_baseline(runtime: Runtime, names: Names, model: ModelSpec = MODEL) -> int | None:
    """Score the holdout with the champion into the baseline table, when the champion changed.

    Returns the champion version the baseline belongs to, or None without a champion.
    """
    version = champion_version(MlflowClient(), names.model)
    if version is None:
        return None
    table = baseline_table(names)
    if runtime.table_schema(table) is not None:
        written = runtime.read_table(table).select(MODEL_VERSION).first()
        if written is not None and int(written[MODEL_VERSION]) == int(version):
            return int(version)
    _, holdout = split_labels(read_labels(runtime, names, model), model)
    scored = runtime.score(
        f"models:/{names.model}/{version}",
        holdout,
        feature_lookups(names, model),
        model.prediction_type,
    )
    non_features = {*model.keys, model.label, *INFERENCE_COLUMNS}
    features = [c for c in scored.columns if c not in non_features]
    baseline = scored.select(
        *model.keys,
        *features,
        PREDICTION,
        model.label,
        F.lit(version).alias(MODEL_VERSION),
        F.current_timestamp().alias(SCORED_AT),
    )
    runtime.write_table(table, baseline)
    return int(version)


def monitor_spec(
    cfg: MonitoringConfig, names: Names, assets_dir: str, model: ModelSpec = MODEL
) -> dict[str, Any]:
    """The inference-log monitor of this target's inference table, in the shape of a bundle
    quality_monitors resource: columns from the contract, the rest from conf/monitoring.yml."""
    return {
        "table_name": names.predictions,
        "baseline_table_name": baseline_table(names),
        "output_schema_name": f"{names.catalog}.{names.schema}",
        "assets_dir": assets_dir,
        "inference_log": {
            "problem_type": f"PROBLEM_TYPE_{model.problem_type.upper()}",
            "prediction_col": PREDICTION,
            "label_col": model.label,
            "model_id_col": MODEL_VERSION,
            "timestamp_col": SCORED_AT,
            "granularities": list(cfg.monitor["granularities"]),
        },
        "schedule": cfg.monitor["schedule"],
        "notifications": cfg.monitor["notifications"],
    }


def latency_table(cfg: MonitoringConfig, names: Names) -> str:
    """The serving inference table whose request durations the latency check reads, if any."""
{%- if serving %}
    return cfg.latency_table or payload_table(names)
{%- else %}
    return cfg.latency_table
{%- endif %}


def run_monitoring(
    runtime: Runtime,
    names: Names,
    cfg: MonitoringConfig,
    assets_dir: str | None = None,
    model: ModelSpec = MODEL,
) -> Verdict:
    """Every check the runtime can run now, and the verdict on them."""
    monitors = monitors_of(runtime)
    assets_dir = assets_dir or monitors.default_assets_dir()
    results: list[CheckResult] = []
    baseline_version = write_baseline(runtime, names, model)
    predictions_exist = runtime.table_schema(names.predictions) is not None
    if baseline_version is not None and predictions_exist:
        if assets_dir:
            monitors.ensure(monitor_spec(cfg, names, assets_dir, model))
        from_monitor = metric_table_checks(runtime, names, cfg, model)
        baseline = runtime.read_table(baseline_table(names))
        current = latest_batch(runtime.read_table(names.predictions))
        if from_monitor is None:
            results += table_checks(baseline, current, cfg, model)
        else:
            # Null rates are not in the drift tables; compute them on the latest batch.
            columns = feature_columns(baseline, model)
            results += [*from_monitor, null_rate_check(current, columns, cfg)]
    requests = latency_table(cfg, names)
    if requests and runtime.table_schema(requests) is not None:
        results.append(latency_check(runtime.read_table(requests), cfg))
    if monitors.has_audit_log:
        results.append(audit_check(runtime, names, cfg))
    return decide(results)


def monitor_and_hand_over(
    runtime: Runtime,
    names: Names,
    cfg: MonitoringConfig,
    assets_dir: str | None = None,
    model: ModelSpec = MODEL,
) -> Verdict:
    """Run the checks, then hand the verdict to the monitoring job's later tasks: the task values
    ``retrain`` and ``alert`` (its conditions read them) and ``violations`` (the alert task's).

    What ``python -m <package> monitor`` and the monitoring job's monitor notebook both run.
    """
    verdict = run_monitoring(runtime, names, cfg, assets_dir or None, model)
    runtime.set_task_value("retrain", verdict.retrain)
    runtime.set_task_value("alert", verdict.alert)
    runtime.set_task_value("violations", verdict.summary)
    return verdict

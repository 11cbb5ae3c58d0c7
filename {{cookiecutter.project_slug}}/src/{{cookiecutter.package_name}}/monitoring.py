"""Monitoring: thresholds from conf/monitoring.yml, drift and quality checks, the verdict.

Every check compares the latest scored batch of the inference table with a baseline: the holdout
split scored by the current champion (``Names.monitoring_baseline``, rewritten whenever the champion
changes). On Databricks the Lakehouse monitor's metric tables (``<inference table>_profile_metrics``
and ``_drift_metrics``) are read where they exist; before its first refresh, and locally, the same
checks are computed here with Spark (no ``toPandas`` of the data, only of small aggregates).

The monitor itself is created by ``ensure_monitor`` through the platform seam, after the inference
table exists, because a monitor cannot be created on a missing table (see README, "Monitoring").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import config
from .config import LABEL, Names, project_file
from .features.quality import null_rates
from .platform import Platform
from .registry import champion_version
from .training import KEYS, feature_lookups, prediction_type, split_labels

CONFIG_FILE = "conf/monitoring.yml"
AUDIT_SQL = "sql/access_audit.sql"
AUDIT_TABLE = "system.access.audit"
LATENCY_COLUMN = "execution_duration_ms"
LATENCY_WINDOW_HOURS = 24  # the monitoring job runs daily
# Columns of the inference table that are not model inputs.
NON_FEATURES = {*KEYS, LABEL, "prediction", "model_version", "scored_at"}
ACTIONS = ("alert", "retrain", "block")
# Keeps PSI finite when a bucket is empty on one side.
EPSILON = 1e-4
GRANULARITY = "1 day"


@dataclass(frozen=True)
class Check:
    """One configured check: its limit and what a violation triggers."""

    name: str
    limit: float
    action: str


@dataclass(frozen=True)
class MonitoringConfig:
    checks: dict[str, Check]
    quality_metric: str
    psi_bins: int
    latency_table: str
    audit_lookback_hours: int
    alert_email: str
    monitor: dict[str, Any]

    def limit(self, check: str) -> float:
        return self.checks[check].limit


# The key that holds each check's limit in conf/monitoring.yml.
LIMIT_KEYS = {
    "model_quality": "max_relative_drop",
    "data_drift": "max_psi",
    "prediction_drift": "max_change",
    "latency": "max_p99_ms",
    "data_quality": "max_null_rate",
    "access_audit": "max_denied",
}


def load_config(path: str | Path | None = None) -> MonitoringConfig:
    """Parse and check conf/monitoring.yml; a missing or unknown key is an error, not a default."""
    source = Path(path) if path else project_file(CONFIG_FILE)
    raw = yaml.safe_load(source.read_text())
    checks = {}
    for name, key in LIMIT_KEYS.items():
        spec = raw["checks"][name]
        if spec["action"] not in ACTIONS:
            raise ValueError(f"{source}: checks.{name}.action must be one of {ACTIONS}")
        checks[name] = Check(name, float(spec[key]), spec["action"])
    unknown = set(raw["checks"]) - set(LIMIT_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown checks {sorted(unknown)}")
    return MonitoringConfig(
        checks=checks,
        quality_metric=raw["checks"]["model_quality"]["metric"],
        psi_bins=int(raw["checks"]["data_drift"]["bins"]),
        latency_table=raw["checks"]["latency"]["table"] or "",
        audit_lookback_hours=int(raw["checks"]["access_audit"]["lookback_hours"]),
        alert_email=raw["alerts"]["email"],
        monitor=raw["monitor"],
    )


@dataclass(frozen=True)
class CheckResult:
    check: str
    ok: bool
    value: float | None
    limit: float
    action: str
    detail: str


@dataclass
class Verdict:
    """What the monitoring job does next: alert, retrain, block the feature pipeline."""

    alert: bool
    retrain: bool
    block: bool
    violations: list[CheckResult] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(results: Sequence[CheckResult]) -> Verdict:
    """Violations -> actions: any violation alerts; `retrain` and `block` add their action."""
    violations = [r for r in results if not r.ok]
    actions = {v.action for v in violations}
    return Verdict(
        alert=bool(violations),
        retrain="retrain" in actions,
        block="block" in actions,
        violations=violations,
        results=list(results),
    )


def _result(cfg: MonitoringConfig, check: str, value: float | None, detail: str) -> CheckResult:
    spec = cfg.checks[check]
    ok = value is None or value <= spec.limit
    return CheckResult(check, ok, value, spec.limit, spec.action, detail)


# --- the statistics ---------------------------------------------------------------------------


def bucket_edges(baseline: DataFrame, columns: Sequence[str], bins: int) -> dict[str, list[float]]:
    """Inner bucket edges per column at the baseline's quantiles (duplicates dropped)."""
    probabilities = [i / bins for i in range(1, bins)]
    quantiles = baseline.approxQuantile(list(columns), probabilities, 0.001)
    return {c: sorted({float(q) for q in qs}) for c, qs in zip(columns, quantiles, strict=True)}


def bucket_shares(df: DataFrame, edges: dict[str, list[float]]) -> dict[str, dict[int, float]]:
    """Share of rows per bucket and column, in one aggregation; nulls are bucket -1."""
    if not edges:
        return {}
    buckets = []
    for column, column_edges in edges.items():
        value = F.col(column).cast("double")
        above = reduce(
            lambda total, edge: total + F.when(value > F.lit(edge), 1).otherwise(0),
            column_edges,
            F.lit(0),
        )
        bucket = F.when(value.isNull() | F.isnan(value), -1).otherwise(above)
        buckets.append(F.struct(F.lit(column).alias("column"), bucket.alias("bucket")))
    counts = (
        df.select(F.explode(F.array(*buckets)).alias("b"))
        .groupBy("b.column", "b.bucket")
        .count()
        .collect()
    )
    totals: dict[str, int] = {}
    for row in counts:
        totals[row["column"]] = totals.get(row["column"], 0) + row["count"]
    shares: dict[str, dict[int, float]] = {column: {} for column in edges}
    for row in counts:
        shares[row["column"]][row["bucket"]] = row["count"] / totals[row["column"]]
    return shares


def psi(
    baseline: DataFrame, current: DataFrame, columns: Sequence[str], bins: int
) -> dict[str, float]:
    """Population stability index per column: sum((c - b) * ln(c / b)) over baseline buckets."""
    edges = bucket_edges(baseline, columns, bins)
    expected, actual = bucket_shares(baseline, edges), bucket_shares(current, edges)
    result = {}
    for column in columns:
        keys = expected[column].keys() | actual[column].keys()
        total = 0.0
        for key in keys:
            b = max(expected[column].get(key, 0.0), EPSILON)
            c = max(actual[column].get(key, 0.0), EPSILON)
            total += (c - b) * math.log(c / b)
        result[column] = total
    return result


def prediction_change(
    baseline: DataFrame, current: DataFrame, problem_type: str, bins: int
) -> float:
    """Total variation distance of the prediction distributions (classes, or baseline buckets)."""
    if problem_type == "classification":
        expected = _class_shares(baseline)
        actual = _class_shares(current)
    else:
        edges = bucket_edges(baseline, ["prediction"], bins)
        expected = bucket_shares(baseline, edges)["prediction"]
        actual = bucket_shares(current, edges)["prediction"]
    keys = expected.keys() | actual.keys()
    return 0.5 * sum(abs(expected.get(k, 0.0) - actual.get(k, 0.0)) for k in keys)


def _class_shares(df: DataFrame) -> dict[Any, float]:
    rows = df.groupBy("prediction").count().collect()
    total = sum(row["count"] for row in rows)
    return {row["prediction"]: row["count"] / total for row in rows}


def quality_metric(df: DataFrame, problem_type: str) -> float | None:
    """Accuracy (classification) or RMSE (regression) over rows with a label; None without any."""
    labelled = df.filter(F.col(LABEL).isNotNull())
    if problem_type == "classification":
        metric = F.avg((F.col("prediction") == F.col(LABEL)).cast("double"))
    else:
        metric = F.sqrt(F.avg(F.pow(F.col("prediction") - F.col(LABEL), 2)))
    return labelled.agg(metric.alias("m")).first()["m"]


def relative_drop(baseline: float, current: float, problem_type: str) -> float:
    """How much worse ``current`` is, relative to ``baseline`` (negative when it improved)."""
    if baseline == 0:
        return 0.0 if current == baseline else math.inf
    if problem_type == "classification":
        return (baseline - current) / baseline
    return (current - baseline) / baseline  # RMSE: a rise is a drop in quality


def p99_latency(df: DataFrame, column: str = LATENCY_COLUMN) -> float | None:
    """Exact 99th percentile of the request durations (ms); None for an empty table."""
    return df.agg(F.percentile(F.col(column), F.lit(0.99)).alias("p99")).first()["p99"]


# --- the checks ---------------------------------------------------------------------------------


def feature_columns(df: DataFrame) -> list[str]:
    numeric = ("int", "bigint", "smallint", "tinyint", "float", "double", "decimal")
    return [
        f.name
        for f in df.schema.fields
        if f.name not in NON_FEATURES and f.dataType.simpleString().startswith(numeric)
    ]


def latest_batch(predictions: DataFrame) -> DataFrame:
    """The rows of the most recent scoring run (one batch shares one ``scored_at``)."""
    latest = predictions.agg(F.max("scored_at").alias("t")).first()["t"]
    return predictions.filter(F.col("scored_at") == F.lit(latest))


def table_checks(
    baseline: DataFrame, current: DataFrame, problem_type: str, cfg: MonitoringConfig
) -> list[CheckResult]:
    """Model quality, data drift, prediction drift and null rates of ``current`` vs ``baseline``."""
    results = []
    base_metric = quality_metric(baseline, problem_type)
    current_metric = quality_metric(current, problem_type)
    metric = cfg.quality_metric
    if base_metric is None or current_metric is None:
        results.append(_result(cfg, "model_quality", None, f"{metric}: no labelled rows yet"))
    else:
        drop = relative_drop(base_metric, current_metric, problem_type)
        results.append(
            _result(
                cfg,
                "model_quality",
                drop,
                f"{metric} {current_metric:.4f} vs baseline {base_metric:.4f} (drop {drop:+.1%})",
            )
        )

    columns = feature_columns(baseline)
    by_column = psi(baseline, current, columns, cfg.psi_bins)
    worst = max(by_column, key=by_column.get) if by_column else None
    drifted = sorted(c for c, v in by_column.items() if v > cfg.limit("data_drift"))
    results.append(
        _result(
            cfg,
            "data_drift",
            by_column[worst] if worst else None,
            f"max PSI {by_column[worst]:.3f} ({worst}); above limit: {drifted or 'none'}"
            if worst
            else "no numeric features",
        )
    )

    change = prediction_change(baseline, current, problem_type, cfg.psi_bins)
    results.append(_result(cfg, "prediction_drift", change, f"{change:.1%} of predictions moved"))

    results.append(null_rate_check(current, columns, cfg))
    return results


def null_rate_check(
    current: DataFrame, columns: Sequence[str], cfg: MonitoringConfig
) -> CheckResult:
    """The highest null rate among the feature columns of the latest batch."""
    _, rates = null_rates(current.select(*columns))
    sparse = max(rates, key=rates.get) if rates else None
    return _result(
        cfg,
        "data_quality",
        rates[sparse] if sparse else None,
        f"max null rate {rates[sparse]:.1%} ({sparse})" if sparse else "no features",
    )


def latency_check(payload: DataFrame, cfg: MonitoringConfig) -> CheckResult:
    """p99 request duration over the last day of the payload table (all of it without times)."""
    if "request_time" in payload.columns:
        since = F.current_timestamp() - F.expr(f"INTERVAL {LATENCY_WINDOW_HOURS} HOURS")
        payload = payload.filter(F.col("request_time") >= since)
    p99 = p99_latency(payload)
    detail = (
        f"p99 {p99:.0f} ms over the last {LATENCY_WINDOW_HOURS} h"
        if p99 is not None
        else "no requests"
    )
    return _result(cfg, "latency", p99, detail)


def audit_check(
    platform: Platform, names: Names, cfg: MonitoringConfig, table: str = AUDIT_TABLE
) -> CheckResult:
    """Denied requests on the project's catalog and schema (``sql/access_audit.sql``)."""
    query = project_file(AUDIT_SQL).read_text()
    if table != AUDIT_TABLE:
        query = query.replace(AUDIT_TABLE, table)
    denied = platform.spark.sql(
        query,
        args={
            "catalog": names.catalog,
            "schema": names.schema,
            "lookback_hours": cfg.audit_lookback_hours,
        },
    )
    rows = denied.limit(20).collect()
    count = denied.count() if len(rows) == 20 else len(rows)
    who = sorted({f"{r['user_email']} {r['action_name']} {r['securable']}" for r in rows})
    detail = f"{count} denied request(s) in {cfg.audit_lookback_hours} h" + (
        f": {'; '.join(who[:5])}" if who else ""
    )
    return _result(cfg, "access_audit", float(count), detail)


def metric_table_checks(
    platform: Platform, names: Names, problem_type: str, cfg: MonitoringConfig
) -> list[CheckResult] | None:
    """Quality and drift from the monitor's metric tables; None until they have a window."""
    profile_table = f"{names.predictions}_profile_metrics"
    drift_table = f"{names.predictions}_drift_metrics"
    if platform.table_schema(profile_table) is None or platform.table_schema(drift_table) is None:
        return None
    metric = "accuracy_score" if problem_type == "classification" else "root_mean_squared_error"
    profile = platform.read_table(profile_table).filter(
        (F.col("column_name") == ":table")
        & F.col("slice_key").isNull()
        & (F.col("granularity") == GRANULARITY)
    )
    current = (
        profile.filter(F.col("log_type") == "INPUT").orderBy(F.col("window.start").desc()).first()
    )
    base = profile.filter(F.col("log_type") == "BASELINE").first()
    if current is None or base is None or current[metric] is None or base[metric] is None:
        return None
    drift = platform.read_table(drift_table).filter(
        (F.col("drift_type") == "BASELINE")
        & F.col("slice_key").isNull()
        & (F.col("granularity") == GRANULARITY)
    )
    window = drift.agg(F.max("window.start").alias("w")).first()["w"]
    rows = drift.filter(F.col("window.start") == F.lit(window)).collect() if window else []
    if not rows:
        return None
    drop = relative_drop(base[metric], current[metric], problem_type)
    psi_by_column = {
        r["column_name"]: r["population_stability_index"]
        for r in rows
        if r["column_name"] not in NON_FEATURES and r["population_stability_index"] is not None
    }
    prediction = next((r for r in rows if r["column_name"] == "prediction"), None)
    change = None
    if prediction is not None:
        change = (
            prediction["tv_distance"]
            if prediction["tv_distance"] is not None
            else prediction["js_distance"]
        )
    worst = max(psi_by_column, key=psi_by_column.get) if psi_by_column else None
    return [
        _result(
            cfg,
            "model_quality",
            drop,
            f"{metric} {current[metric]:.4f} vs baseline {base[metric]:.4f} (monitor metrics)",
        ),
        _result(
            cfg,
            "data_drift",
            psi_by_column[worst] if worst else None,
            f"max PSI {psi_by_column[worst]:.3f} ({worst}, monitor metrics)"
            if worst
            else "no PSI in the monitor metrics",
        ),
        _result(
            cfg,
            "prediction_drift",
            change,
            f"{change:.1%} of predictions moved (monitor metrics)"
            if change is not None
            else "no prediction drift in the monitor metrics",
        ),
    ]


# --- baseline, monitor and the whole run ---------------------------------------------------------


def write_baseline(platform: Platform, names: Names, problem_type: str) -> int | None:
    """Score the holdout with the champion into the baseline table, when the champion changed.

    Returns the champion version the baseline belongs to, or None without a champion.
    """
    version = champion_version(MlflowClient(), names.model)
    if version is None:
        return None
    if platform.table_schema(names.monitoring_baseline) is not None:
        written = platform.read_table(names.monitoring_baseline).select("model_version").first()
        if written is not None and int(written["model_version"]) == int(version):
            return int(version)
    _, holdout = split_labels(platform.read_table(names.labels))
    scored = platform.score(
        f"models:/{names.model}/{version}",
        holdout,
        feature_lookups(names),
        prediction_type(problem_type),
    )
    features = [c for c in scored.columns if c not in NON_FEATURES]
    baseline = scored.select(
        *KEYS,
        *features,
        "prediction",
        LABEL,
        F.lit(version).alias("model_version"),
        F.current_timestamp().alias("scored_at"),
    )
    platform.write_table(names.monitoring_baseline, baseline)
    return int(version)


def monitor_spec(cfg: MonitoringConfig, names: Names, assets_dir: str) -> dict[str, Any]:
    """The monitor of conf/monitoring.yml with this target's table names."""
    return {
        "table_name": names.predictions,
        "baseline_table_name": names.monitoring_baseline,
        "output_schema_name": f"{names.catalog}.{names.schema}",
        "assets_dir": assets_dir,
        **cfg.monitor,
    }


def run_monitoring(
    platform: Platform,
    names: Names,
    cfg: MonitoringConfig,
    problem_type: str | None = None,
    assets_dir: str | None = None,
) -> Verdict:
    """Every check the platform can run now, and the verdict on them."""
    problem_type = problem_type or config.problem_type()
    results: list[CheckResult] = []
    baseline_version = write_baseline(platform, names, problem_type)
    predictions_exist = platform.table_schema(names.predictions) is not None
    if baseline_version is not None and predictions_exist:
        if assets_dir:
            platform.ensure_quality_monitor(monitor_spec(cfg, names, assets_dir))
        from_monitor = metric_table_checks(platform, names, problem_type, cfg)
        baseline = platform.read_table(names.monitoring_baseline)
        current = latest_batch(platform.read_table(names.predictions))
        if from_monitor is None:
            results += table_checks(baseline, current, problem_type, cfg)
        else:
            # Null rates are not in the drift tables; compute them on the latest batch.
            results += [*from_monitor, null_rate_check(current, feature_columns(baseline), cfg)]
    latency_table = cfg.latency_table or (names.serving_payload if config.SERVING else "")
    if latency_table and platform.table_schema(latency_table) is not None:
        results.append(latency_check(platform.read_table(latency_table), cfg))
    if platform.name == "databricks":
        results.append(audit_check(platform, names, cfg))
    return decide(results)

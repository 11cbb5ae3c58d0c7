"""The checks: each compares the latest scored batch (or the requests of a serving inference table,
or the audit log) with its limit, and the verdict on all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..config import MODEL_VERSION, PREDICTION, SCORED_AT, Names, project_file
from ..contract import ModelSpec
from ..data_quality import null_rates
from ..model import MODEL
from ..runtime import Runtime
from .settings import MonitoringConfig
from .statistics import labelled_metric, p99_latency, prediction_change, psi, relative_drop

AUDIT_SQL = "sql/access_audit.sql"
AUDIT_TABLE = "system.access.audit"
LATENCY_WINDOW_HOURS = 24  # the monitoring job runs daily
# Columns of an inference table that are neither keys, features nor the label.
INFERENCE_COLUMNS = (PREDICTION, MODEL_VERSION, SCORED_AT)
# The model metrics that the monitor's profile metrics table holds, and under which column.
MONITOR_METRIC_COLUMNS = {"accuracy": "accuracy_score", "rmse": "root_mean_squared_error"}
# The drift statistic of the prediction column. The drift metrics table documents
# `tv_distance` (with `chi_squared_test`, `l_infinity_distance`) for categorical columns and
# `js_distance` (with `ks_test`, `wasserstein_distance`) for numeric ones:
# https://docs.databricks.com/aws/en/lakehouse-monitoring/monitor-output (drift metrics schema).
# A classifier's predictions are classes; a regressor's are numbers.
PREDICTION_DRIFT = {"classification": "tv_distance", "regression": "js_distance"}
# With model_id_col set, the metric tables hold rows per model version and rows for all versions
# together, the latter marked "*" in the model id column (same page, "model_id"): the checks
# read the all-versions rows, like the local checks, which look at the whole latest batch.
ALL_VERSIONS = "*"
MODEL_ID_COLUMN = MODEL_VERSION


@dataclass(frozen=True)
class CheckResult:
    check: str
    ok: bool
    value: float | None
    limit: float
    action: str
    detail: str
    # A fraction (a drop, a share of rows): shown as a percentage, like its detail.
    fraction: bool = False

    @property
    def shown_limit(self) -> str:
        return f"{self.limit:.1%}" if self.fraction else f"{self.limit:g}"


@dataclass
class Verdict:
    """What the monitoring job does next: alert, and retrain."""

    alert: bool
    retrain: bool
    violations: list[CheckResult] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        """The violations in one line: the task value ``violations`` the alert task reports."""
        return "; ".join(f"{v.check}: {v.detail}" for v in self.violations)

    def report(self) -> str:
        """Each check and the decision, one a line: what the CLI prints and the notebook shows."""
        lines = []
        for result in self.results:
            status = "ok" if result.ok else f"VIOLATION -> {result.action}"
            lines.append(f"  {result.check}: {result.detail} (limit {result.shown_limit}) {status}")
        if not self.results:
            lines.append("  nothing to check yet: no champion or no inference table")
        decision = "retrain" if self.retrain else "alert" if self.alert else "all checks passed"
        lines.append(f"monitor: {len(self.results)} checks, {decision}")
        return "\n".join(lines)


def decide(results: Sequence[CheckResult]) -> Verdict:
    """Violations -> actions: any violation alerts; `retrain` also retrains."""
    violations = [r for r in results if not r.ok]
    actions = {v.action for v in violations}
    return Verdict(
        alert=bool(violations),
        retrain="retrain" in actions,
        violations=violations,
        results=list(results),
    )


def _result(
    cfg: MonitoringConfig, check: str, value: float | None, detail: str, fraction: bool = False
) -> CheckResult:
    spec = cfg.checks[check]
    ok = value is None or value <= spec.limit
    return CheckResult(check, ok, value, spec.limit, spec.action, detail, fraction)


def feature_columns(df: DataFrame, model: ModelSpec = MODEL) -> list[str]:
    """The numeric model inputs of an inference table."""
    numeric = ("int", "bigint", "smallint", "tinyint", "float", "double", "decimal")
    non_features = {*model.keys, model.label, *INFERENCE_COLUMNS}
    return [
        f.name
        for f in df.schema.fields
        if f.name not in non_features and f.dataType.simpleString().startswith(numeric)
    ]


def latest_batch(predictions: DataFrame) -> DataFrame:
    """The rows of the most recent scoring run (one batch shares one ``scored_at``)."""
    latest = predictions.agg(F.max(SCORED_AT).alias("t")).first()["t"]
    return predictions.filter(F.col(SCORED_AT) == F.lit(latest))


def table_checks(
    baseline: DataFrame, current: DataFrame, cfg: MonitoringConfig, model: ModelSpec = MODEL
) -> list[CheckResult]:
    """Model quality, data drift, prediction drift and null rates of ``current`` vs ``baseline``."""
    results = []
    quality = model.metric(cfg.quality_metric)
    base_metric = labelled_metric(baseline, model.label, quality)
    current_metric = labelled_metric(current, model.label, quality)
    metric = quality.name
    if base_metric is None or current_metric is None:
        results.append(_result(cfg, "model_quality", None, f"{metric}: no labelled rows yet"))
    else:
        drop = relative_drop(base_metric, current_metric, quality.higher_is_better)
        results.append(
            _result(
                cfg,
                "model_quality",
                drop,
                f"{metric} {current_metric:.4f} vs baseline {base_metric:.4f} (drop {drop:+.1%})",
                fraction=True,
            )
        )

    columns = feature_columns(baseline, model)
    by_column = psi(baseline, current, columns, cfg.psi_bins)
    worst = max(by_column, key=by_column.get) if by_column else None
    drifted = sorted(c for c, v in by_column.items() if v > cfg.limit("data_drift"))
    results.append(
        _result(
            cfg,
            "data_drift",
            by_column[worst] if worst else None,
            f"max PSI {by_column[worst]:.3f} ({worst}); above limit: {', '.join(drifted) or 'none'}"
            if worst
            else "no numeric features",
        )
    )

    change = prediction_change(baseline, current, model.problem_type, cfg.psi_bins)
    results.append(
        _result(
            cfg, "prediction_drift", change, f"{change:.1%} of predictions moved", fraction=True
        )
    )

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
        fraction=True,
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
    runtime: Runtime, names: Names, cfg: MonitoringConfig, table: str = AUDIT_TABLE
) -> CheckResult:
    """Denied requests on the project's catalog and schema (``sql/access_audit.sql``)."""
    query = project_file(AUDIT_SQL).read_text()
    if table != AUDIT_TABLE:
        query = query.replace(AUDIT_TABLE, table)
    denied = runtime.spark.sql(
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


def _all_versions(metrics: DataFrame) -> DataFrame:
    """The rows of a metric table that cover every model version at once."""
    if MODEL_ID_COLUMN not in metrics.columns:
        return metrics
    return metrics.filter(F.col(MODEL_ID_COLUMN).cast("string") == F.lit(ALL_VERSIONS))


def metric_table_checks(
    runtime: Runtime, names: Names, cfg: MonitoringConfig, model: ModelSpec = MODEL
) -> list[CheckResult] | None:
    """Quality and drift from the monitor's metric tables; None until they have a window, or
    when the monitor does not compute the configured quality metric."""
    profile_table = f"{names.predictions}_profile_metrics"
    drift_table = f"{names.predictions}_drift_metrics"
    metric = MONITOR_METRIC_COLUMNS.get(cfg.quality_metric)
    if metric is None:
        return None
    if runtime.table_schema(profile_table) is None or runtime.table_schema(drift_table) is None:
        return None
    quality = model.metric(cfg.quality_metric)
    profile = _all_versions(runtime.read_table(profile_table)).filter(
        (F.col("column_name") == ":table")
        & F.col("slice_key").isNull()
        & (F.col("granularity") == cfg.granularity)
    )
    current = (
        profile.filter(F.col("log_type") == "INPUT").orderBy(F.col("window.start").desc()).first()
    )
    base = profile.filter(F.col("log_type") == "BASELINE").first()
    if current is None or base is None or current[metric] is None or base[metric] is None:
        return None
    drift = _all_versions(runtime.read_table(drift_table)).filter(
        (F.col("drift_type") == "BASELINE")
        & F.col("slice_key").isNull()
        & (F.col("granularity") == cfg.granularity)
    )
    window = drift.agg(F.max("window.start").alias("w")).first()["w"]
    rows = drift.filter(F.col("window.start") == F.lit(window)).collect() if window else []
    if not rows:
        return None
    drop = relative_drop(base[metric], current[metric], quality.higher_is_better)
    psi_by_column = {
        r["column_name"]: r["population_stability_index"]
        for r in rows
        if r["column_name"] not in {*model.keys, model.label, *INFERENCE_COLUMNS}
        and r["population_stability_index"] is not None
    }
    prediction = next((r for r in rows if r["column_name"] == PREDICTION), None)
    statistic = PREDICTION_DRIFT[model.problem_type]
    change = prediction[statistic] if prediction is not None else None
    if change is None:
        # A drift nobody measured must not pass: compute the checks from the tables instead.
        return None
    worst = max(psi_by_column, key=psi_by_column.get) if psi_by_column else None
    return [
        _result(
            cfg,
            "model_quality",
            drop,
            f"{quality.name} {current[metric]:.4f} vs baseline {base[metric]:.4f} "
            f"(drop {drop:+.1%}, monitor metrics)",
            fraction=True,
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
            f"{statistic} {change:.3f} of the predictions (monitor metrics)",
        ),
    ]

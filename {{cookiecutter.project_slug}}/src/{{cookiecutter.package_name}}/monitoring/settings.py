"""The monitoring checks of conf/thresholds.yml and the Lakehouse monitor of conf/monitoring.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import project_file
from ..contract import ModelSpec
from ..settings import Thresholds

CONFIG_FILE = "conf/monitoring.yml"
# alert: the monitoring job's alert task fails with the violations (its failure e-mail goes out);
# retrain: alert, and the monitoring job runs the training job.
ACTIONS = ("alert", "retrain")
CHECKS = (
    "model_quality",
    "data_drift",
    "prediction_drift",
    "latency",
    "data_quality",
    "access_audit",
)


@dataclass(frozen=True)
class Check:
    """One configured check: its limit and what a violation triggers."""

    name: str
    limit: float
    action: str


@dataclass(frozen=True)
class MonitoringConfig:
    checks: dict[str, Check]
    # One of the model's metrics (model/estimator.py), compared with the baseline.
    quality_metric: str
    psi_bins: int
    latency_table: str
    audit_lookback_hours: int
    # The Lakehouse monitor: granularities, schedule, notifications (conf/monitoring.yml).
    monitor: dict[str, Any]

    def limit(self, check: str) -> float:
        return self.checks[check].limit

    @property
    def granularity(self) -> str:
        """The window the checks read from the monitor's metric tables: the first listed."""
        return self.monitor["granularities"][0]


def load_config(
    thresholds: Thresholds, model: ModelSpec, path: str | Path | None = None
) -> MonitoringConfig:
    """The ``monitoring`` section of the thresholds, and the monitor; errors name the key."""
    source = thresholds.source
    raw = thresholds.raw["monitoring"]
    if unknown := set(raw) - set(CHECKS):
        raise ValueError(f"{source}: unknown monitoring checks {sorted(unknown)}")
    for name in CHECKS:
        if raw[name]["action"] not in ACTIONS:
            raise ValueError(f"{source}: monitoring.{name}.action must be one of {ACTIONS}")
    metric = raw["model_quality"]["metric"]
    if metric not in model.metric_names:
        raise ValueError(
            f"{source}: monitoring.model_quality.metric {metric!r} is not one of the model's "
            f"metrics {model.metric_names} (model/estimator.py)"
        )
    limits = {
        "model_quality": raw["model_quality"]["max_relative_drop"],
        "data_drift": raw["data_drift"]["max_psi"],
        "prediction_drift": raw["prediction_drift"]["max_change"],
        "latency": thresholds.raw["latency"]["max_p99_ms"],
        "data_quality": thresholds.data_quality.max_null_rate,
        "access_audit": raw["access_audit"]["max_denied"],
    }
    monitor_file = Path(path) if path else project_file(CONFIG_FILE)
    monitor = yaml.safe_load(monitor_file.read_text())["monitor"]
    return MonitoringConfig(
        checks={n: Check(n, float(limits[n]), raw[n]["action"]) for n in CHECKS},
        quality_metric=metric,
        psi_bins=int(raw["data_drift"]["bins"]),
        latency_table=raw["latency"]["table"] or "",
        audit_lookback_hours=int(raw["access_audit"]["lookback_hours"]),
        monitor=monitor,
    )

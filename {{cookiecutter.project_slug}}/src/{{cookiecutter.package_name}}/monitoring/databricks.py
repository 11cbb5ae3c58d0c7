"""Monitoring in a workspace: the Lakehouse monitor (databricks-sdk) and the audit log."""

from __future__ import annotations

from typing import Any

from ..runtime.databricks import DatabricksRuntime
from .backend import Monitors


class DatabricksMonitors(Monitors):
    has_audit_log = True

    def __init__(self, runtime: DatabricksRuntime) -> None:
        self.runtime = runtime

    def default_assets_dir(self) -> None:
        return None  # the monitoring job passes one under the bundle's root_path

    def ensure(self, spec: dict[str, Any]) -> str:
        # Created here, not by the bundle: a monitor needs its table, which the first batch
        # inference run creates (see README, "Monitoring").
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.catalog import (
            MonitorCronSchedule,
            MonitorInferenceLog,
            MonitorNotifications,
        )

        monitors = self.runtime.workspace.quality_monitors
        settings = {
            "output_schema_name": spec["output_schema_name"],
            "baseline_table_name": spec["baseline_table_name"],
            "inference_log": MonitorInferenceLog.from_dict(spec["inference_log"]),
            "schedule": MonitorCronSchedule.from_dict(spec["schedule"]),
            "notifications": MonitorNotifications.from_dict(spec["notifications"]),
        }
        try:
            monitors.get(table_name=spec["table_name"])
        except NotFound:
            monitors.create(
                table_name=spec["table_name"], assets_dir=spec["assets_dir"], **settings
            )
            return "created"
        monitors.update(table_name=spec["table_name"], **settings)
        return "updated"

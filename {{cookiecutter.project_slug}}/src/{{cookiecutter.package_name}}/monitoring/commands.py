"""The monitoring commands: ``monitor`` and ``alert`` (the monitoring job's tasks)."""

from __future__ import annotations

import argparse
from typing import Any

from ..context import Command, CommandContext
from ..errors import Refusal
from ..model import MODEL
from .run import run_monitoring
from .settings import load_config


class MonitoringAlertError(Refusal):
    """The monitoring job's alert task: fails the run so its failure e-mail goes out."""


def cmd_monitor(ctx: CommandContext) -> dict[str, Any]:
    """Run the monitoring checks the way the monitoring job's task does; set `retrain`."""
    cfg = load_config(ctx.thresholds, MODEL, getattr(ctx.args, "monitoring_config", None))
    verdict = run_monitoring(
        ctx.runtime, ctx.names, cfg, assets_dir=getattr(ctx.args, "assets_dir", None)
    )
    violations = "; ".join(f"{v.check}: {v.detail}" for v in verdict.violations)
    ctx.runtime.set_task_value("retrain", verdict.retrain)
    ctx.runtime.set_task_value("alert", verdict.alert)
    ctx.runtime.set_task_value("violations", violations)
    for result in verdict.results:
        status = "ok" if result.ok else f"VIOLATION -> {result.action}"
        ctx.say(f"  {result.check}: {result.detail} (limit {result.shown_limit}) {status}")
    if not verdict.results:
        ctx.say("  nothing to check yet: no champion or no inference table")
    decision = "retrain" if verdict.retrain else "alert" if verdict.alert else "all checks passed"
    ctx.say(f"monitor: {len(verdict.results)} checks, {decision}")
    return verdict.as_dict()


def cmd_alert(ctx: CommandContext) -> dict[str, Any]:
    """Fail with the violations the monitor task found (the job e-mails its failures)."""
    raise MonitoringAlertError(ctx.args.violations or "the monitor task reported violations")


def _monitor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monitoring-config", help="the monitor (default: conf/monitoring.yml)")
    parser.add_argument("--assets-dir", help="workspace folder of the monitor's dashboard")


def _alert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--violations", help="what the monitor task found")


COMMANDS = {
    "monitor": Command(
        cmd_monitor, "run the monitoring checks; set the task value retrain", _monitor_arguments
    ),
    "alert": Command(
        cmd_alert, "fail with the monitor's violations (job alert task)", _alert_arguments
    ),
}

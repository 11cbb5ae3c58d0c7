"""The monitoring commands: ``monitor`` and ``alert`` (the monitoring job's tasks)."""

from __future__ import annotations

import argparse
from typing import Any

from ..context import Command, CommandContext
from ..errors import Refusal
from ..model import MODEL
from .run import monitor_and_hand_over
from .settings import load_config


class MonitoringAlertError(Refusal):
    """The monitoring job's alert task: fails the run so its failure e-mail goes out."""


def cmd_monitor(ctx: CommandContext) -> dict[str, Any]:
    """Run the monitoring checks and set the task values (run.monitor_and_hand_over)."""
    cfg = load_config(ctx.thresholds, MODEL, getattr(ctx.args, "monitoring_config", None))
    verdict = monitor_and_hand_over(
        ctx.runtime, ctx.names, cfg, assets_dir=getattr(ctx.args, "assets_dir", None)
    )
    ctx.say(verdict.report())
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
        cmd_monitor,
        "run the monitoring checks; set the task values retrain, alert and violations",
        _monitor_arguments,
        task_values=("retrain", "alert", "violations"),
    ),
    "alert": Command(
        cmd_alert, "fail with the monitor's violations (job alert task)", _alert_arguments
    ),
}

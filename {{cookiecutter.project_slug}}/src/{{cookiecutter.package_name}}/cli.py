"""Command line: one subcommand per lifecycle stage, shared by job tasks and developers."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from mlflow import MlflowClient

from . import config, registry
from .config import Names
from .features import write_feature_tables
from .features.quality import DataQualityError
from .inference import NoChampionError, batch_inference
from .platform import LocalPlatform, Platform, get_platform
from .sample import DEFAULT_ROWS, DEFAULT_SEED, write_sample
from .training import train
from .validation import validate


class MonitoringAlertError(RuntimeError):
    """The monitoring job's alert task: fails the run so its failure e-mail goes out."""


class Stage:
    """What a command needs: names, a platform, and somewhere to report progress."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.names = Names.resolve(args.target, args.catalog, args.schema, args.model_name)
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = self._connect()
        return self._platform

    def client(self) -> MlflowClient:
        """A client for the platform's model registry; needs no Spark session."""
        if self._platform is None:
            self._platform = self._connect()
        return MlflowClient()

    def _connect(self) -> Platform:
        """Pick the platform and point MLflow at its tracking server and registry."""
        # local-run is local by definition: everything it writes lives under .local/.
        if self.args.command == "local-run":
            platform: Platform = LocalPlatform()
        else:
            platform = get_platform(self.args.platform)
        workspace_experiment = f"/Shared/{self.names.model}"
        default = self.names.model_name if platform.name == "local" else workspace_experiment
        platform.configure_mlflow(self.args.experiment or default)
        return platform

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)


def cmd_sample(stage: Stage) -> dict[str, Any]:
    counts = write_sample(stage.platform, stage.names, stage.args.seed, stage.args.rows)
    for table, rows in counts.items():
        stage.say(f"sample: wrote {rows} rows to {table}")
    return {"tables": counts}


def cmd_features(stage: Stage) -> dict[str, Any]:
    tables = write_feature_tables(stage.platform, stage.names)
    stage.say(f"features: quality gate passed, upserted {', '.join(tables)}")
    published = {}
    if config.SERVING:
        # Where the endpoint reads features from the online store, carry the new values over.
        from .serving import load_config, publish_features

        published = publish_features(
            stage.platform, stage.names, stage.args.target, load_config(stage.args.serving_config)
        )
        for table, action in published.items():
            stage.say(f"features: {action} online table {table}")
    return {"feature_tables": tables, "online_tables": published}


def cmd_train(stage: Stage) -> dict[str, Any]:
    result = train(stage.platform, stage.names)
    registry.set_challenger(stage.client(), result.model_name, result.version)
    stage.platform.set_task_value("version", result.version)
    stage.say(
        f"train: registered {result.model_name} version {result.version} as @challenger "
        f"({_format(result.metrics)})"
    )
    return asdict(result)


def cmd_validate(stage: Stage) -> dict[str, Any]:
    result = validate(stage.platform, stage.names, stage.args.version)
    stage.platform.set_task_value("passed", result.passed)
    stage.say(
        f"validate: version {result.candidate_version} {'PASSED' if result.passed else 'FAILED'}"
    )
    for reason in result.reasons:
        stage.say(f"  - {reason}")
    return asdict(result)


def cmd_promote(stage: Stage) -> dict[str, Any]:
    result = registry.promote(stage.client(), stage.names.model, stage.args.version)
    if result.changed:
        stage.say(f"promote: @champion -> version {result.champion} (was {result.previous})")
    else:
        stage.say(f"promote: version {result.champion} is already @champion; nothing changed")
    return asdict(result)


def cmd_rollback(stage: Stage) -> dict[str, Any]:
    result = registry.rollback(stage.client(), stage.names.model, stage.args.version)
    stage.say(f"rollback: @champion -> version {result.champion} (was {result.rolled_back_from})")
    return asdict(result)


def cmd_batch_inference(stage: Stage) -> dict[str, Any]:
    result = batch_inference(stage.platform, stage.names, stage.args.input_table)
    stage.say(
        f"batch-inference: scored {result.rows} rows with version {result.model_version} "
        f"into {result.table}"
    )
    return asdict(result)


def cmd_deploy_endpoint(stage: Stage) -> dict[str, Any]:
    """Point the serving endpoint at @champion, creating it the first time."""
    # Imported here: the module (and conf/serving.yml) exist only with serving.
    from .serving import deploy, load_config

    result = deploy(
        stage.platform,
        stage.names,
        stage.args.target,
        load_config(stage.args.serving_config),
        reader_group=stage.args.reader_group,
        developer_group=stage.args.developer_group,
        alert_email=stage.args.alert_email,
    )
    for table, action in result.online_tables.items():
        stage.say(f"deploy-endpoint: {action} online table {table}")
    stage.say(
        f"deploy-endpoint: {result.endpoint} {result.action}, serving version {result.version} "
        f"as {result.served_entity}"
    )
    return asdict(result)


def cmd_smoke_check(stage: Stage) -> dict[str, Any]:
    """Query the endpoint with requests built from the champion's signature; fail if slow."""
    from .serving import load_config, smoke_check

    result = smoke_check(stage.platform, stage.names, load_config(stage.args.serving_config))
    stage.say(
        f"smoke-check: {result.endpoint} answered {result.requests} requests of "
        f"{result.rows_per_request} rows from version {result.version}: "
        f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms (budget {result.max_p99_ms:g} ms)"
    )
    return asdict(result)


def cmd_monitor(stage: Stage) -> dict[str, Any]:
    """Run the monitoring checks the way the monitoring job's task does; set `retrain`."""
    # Imported here: the module (and conf/monitoring.yml) exist only with monitoring.
    from .monitoring import load_config, run_monitoring

    assets_dir = stage.args.assets_dir
    if assets_dir is None and isinstance(stage.platform, LocalPlatform):
        assets_dir = str(stage.platform.root / "monitoring")
    cfg = load_config(stage.args.monitoring_config)
    verdict = run_monitoring(stage.platform, stage.names, cfg, assets_dir=assets_dir)
    violations = "; ".join(f"{v.check}: {v.detail}" for v in verdict.violations)
    stage.platform.set_task_value("retrain", verdict.retrain)
    stage.platform.set_task_value("alert", verdict.alert)
    stage.platform.set_task_value("violations", violations)
    for result in verdict.results:
        status = "ok" if result.ok else f"VIOLATION -> {result.action}"
        stage.say(f"  {result.check}: {result.detail} (limit {result.limit:g}) {status}")
    if not verdict.results:
        stage.say("  nothing to check yet: no champion or no inference table")
    decision = "retrain" if verdict.retrain else "alert" if verdict.alert else "all checks passed"
    stage.say(f"monitor: {len(verdict.results)} checks, {decision}")
    return verdict.as_dict()


def cmd_alert(stage: Stage) -> dict[str, Any]:
    """Fail with the violations the monitor task found (the job e-mails its failures)."""
    raise MonitoringAlertError(stage.args.violations or "the monitor task reported violations")


def cmd_local_run(stage: Stage) -> dict[str, Any]:
    """The whole lifecycle on the synthetic sample, locally."""
    started = time.monotonic()
    cmd_sample(stage)
    cmd_features(stage)
    trained = cmd_train(stage)
    stage.args.version = trained["version"]
    validated = cmd_validate(stage)
    if validated["passed"]:
        cmd_promote(stage)
    else:
        stage.say("promote: refused, the champion stays (see reasons above)")
    # The local endpoint starts in the background while batch inference runs.
    deployed = cmd_deploy_endpoint(stage) if config.SERVING else None
    scored = cmd_batch_inference(stage)
    serving = {**deployed, "smoke_check": cmd_smoke_check(stage)} if deployed else None
    monitoring = cmd_monitor(stage) if config.MONITORING else None
    return {
        "model_name": stage.names.model,
        "version": trained["version"],
        "promoted": validated["passed"],
        "validated_against": validated["champion_version"],
        "champion_version": scored["model_version"],
        "metrics": trained["metrics"],
        "champion_metrics": validated["champion_metrics"],
        "reasons": validated["reasons"],
        "inference_table": scored["table"],
        "rows_scored": scored["rows"],
        **({"serving": serving} if config.SERVING else {}),
        **({"monitoring": monitoring} if config.MONITORING else {}),
        "seconds": round(time.monotonic() - started, 1),
    }


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())


COMMANDS: dict[str, tuple[Callable[[Stage], dict[str, Any]], str]] = {
    "sample": (cmd_sample, "write the synthetic source tables"),
    "features": (cmd_features, "build, check and upsert the feature tables"),
    "train": (cmd_train, "train, log and register a version; alias it @challenger"),
    "validate": (cmd_validate, "validate a version against thresholds and @champion"),
    "promote": (cmd_promote, "move @champion to a version"),
    "batch-inference": (cmd_batch_inference, "score with @champion into the inference table"),
    "rollback": (cmd_rollback, "move @champion back to the previous champion"),
    "local-run": (cmd_local_run, "run the whole lifecycle locally under .local/"),
}
if config.SERVING:
    COMMANDS["deploy-endpoint"] = (cmd_deploy_endpoint, "point the serving endpoint at @champion")
    COMMANDS["smoke-check"] = (cmd_smoke_check, "query the endpoint; fail on errors or a slow p99")
if config.MONITORING:
    COMMANDS["monitor"] = (cmd_monitor, "run the monitoring checks; set the task value retrain")
    COMMANDS["alert"] = (cmd_alert, "fail with the monitor's violations (job alert task)")


# Expected ways for a stage to say no: one line on stderr and exit code 1, not a traceback.
REFUSALS: tuple[type[Exception], ...] = (
    registry.NothingToRollBackError,
    NoChampionError,
    DataQualityError,
    MonitoringAlertError,
)
if config.SERVING:
    from .serving import SmokeCheckError

    REFUSALS = (*REFUSALS, SmokeCheckError)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--platform", choices=["auto", "local", "databricks"], default="auto")
    common.add_argument("--target", choices=sorted(config.CATALOGS), default="dev")
    common.add_argument("--catalog", help="override the target's catalog")
    common.add_argument("--schema", help=f"override the schema (default {config.SCHEMA})")
    common.add_argument(
        "--model-name", help="model name, or the full catalog.schema.model a bundle resolved"
    )
    common.add_argument("--experiment", help="MLflow experiment name or workspace path")
    common.add_argument("--seed", type=int, default=DEFAULT_SEED)
    common.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="label rows to sample")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.set_defaults(version=None, input_table=None)
    common.set_defaults(monitoring_config=None, assets_dir=None, violations=None)
    common.set_defaults(serving_config=None, reader_group=None, developer_group=None)
    common.set_defaults(alert_email=None)

    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description="The ML lifecycle, one command per stage."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, parents=[common], help=help_text)
        if name in ("validate", "promote"):
            sub.add_argument("--version", type=int, required=True)
        if name == "rollback":
            sub.add_argument("--version", type=int, help="roll back to this version instead")
        if name == "batch-inference":
            sub.add_argument("--input-table", help="table to score (default: the label table)")
        if name == "monitor":
            sub.add_argument(
                "--monitoring-config", help="thresholds file (default: conf/monitoring.yml)"
            )
            sub.add_argument("--assets-dir", help="workspace folder of the monitor's dashboard")
        if name in ("deploy-endpoint", "smoke-check", "features", "local-run") and config.SERVING:
            sub.add_argument("--serving-config", help="default: conf/serving.yml")
        if name == "deploy-endpoint":
            sub.add_argument("--reader-group", help="group that may query the endpoint")
            sub.add_argument("--developer-group", help="manages the dev endpoint, views the others")
            sub.add_argument("--alert-email", help="told when an endpoint update fails")
        if name == "alert":
            sub.add_argument("--violations", help="what the monitor task found")
    return parser


def run(argv: Sequence[str]) -> None:
    """For notebooks: like ``main``, but a refusal raises so the job task fails."""
    code = main(argv)
    if code != 0:
        raise RuntimeError(f"{argv[0]} failed with exit code {code}; see the message above")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    command, _ = COMMANDS[args.command]
    # In --json mode stdout carries only the result; progress and library chatter go to stderr.
    out = sys.stderr if args.json else sys.stdout
    try:
        with contextlib.redirect_stdout(out):
            result = command(Stage(args, out))
    except REFUSALS as error:
        print(f"{args.command} refused: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=str))
    return 0

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
{%- set serving = cookiecutter.include_serving == "yes" -%}
{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
"""Command line: one subcommand per lifecycle stage, shared by job tasks and developers."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

from . import registry, validation
from .config import CATALOGS, SCHEMA
from .context import Command, CommandContext
from .data_quality import describe_rates
from .errors import Refusal
from .feature_pipeline import write_feature_tables
from .inference import batch_inference
{%- if monitoring %}
from .monitoring import commands as monitoring_commands
{%- endif %}
from .runtime import KINDS, doctor
from .sample_data import DEFAULT_ROWS, DEFAULT_SEED, check_rows, write_sample
{%- if serving %}
from .serving import commands as serving_commands
{%- endif %}
from .train import hand_over, train


def cmd_sample(ctx: CommandContext) -> dict[str, Any]:
    check_rows(ctx.args.rows)  # before the runtime: a wrong argument leaves no state behind
    counts = write_sample(ctx.runtime, ctx.names, ctx.args.seed, ctx.args.rows)
    for table, rows in counts.items():
        ctx.say(f"sample: wrote {rows} rows to {table}")
    return {"tables": counts}


def cmd_features(ctx: CommandContext) -> dict[str, Any]:
    run = write_feature_tables(ctx.runtime, ctx.names, ctx.thresholds.data_quality)
    for table, rates in run.sparse_columns.items():
        ctx.say(f"features: ALERT {table} null rates over the limit: {describe_rates(rates)}")
    ctx.say(f"features: quality gate passed, upserted {', '.join(run.tables)}")
    result: dict[str, Any] = asdict(run)
{%- if serving and fs %}
    # Where the endpoint reads features from the online store, carry the new values over.
    result["online_tables"] = serving_commands.publish_online_features(ctx)
{%- endif %}
    return result


def cmd_train(ctx: CommandContext) -> dict[str, Any]:
    ctx.runtime.use_experiment(ctx.names, ctx.args.experiment)
    result = train(ctx.runtime, ctx.names)
    hand_over(ctx.runtime, result)
    ctx.say(
        f"train: registered {result.model_name} version {result.version} as @challenger "
        f"({_format(result.metrics)})"
    )
    return asdict(result)


class ValidationFailedError(Refusal):
    """The challenger failed validation: the shell's exit status says so."""


def validate_and_record(ctx: CommandContext) -> dict[str, Any]:
    """Validate and record the verdict (validation.validate_and_record), then report it."""
    result = validation.validate_and_record(
        ctx.runtime, ctx.names, ctx.args.version, ctx.thresholds
    )
    ctx.say(f"validate: {result.report()}")
    return asdict(result)


def cmd_validate(ctx: CommandContext) -> dict[str, Any]:
    result = validate_and_record(ctx)
    # A job reads the task value instead, so its task must succeed on a "no" (--exit-zero).
    if not result["passed"] and not ctx.args.exit_zero:
        failed = "; ".join(result["failures"])
        raise ValidationFailedError(f"{ctx.names.model} version {ctx.args.version}: {failed}")
    return result


def cmd_promote(ctx: CommandContext) -> dict[str, Any]:
    result = registry.promote(
        ctx.client(), ctx.names.model, ctx.args.version, ctx.thresholds.digest, ctx.args.force
    )
    forced = " with --force (recorded on the version)" if result.forced else ""
    if result.changed:
        was = f"was {result.previous}" if result.previous is not None else "the first champion"
        ctx.say(f"promote: @champion -> version {result.champion} ({was}){forced}")
    else:
        ctx.say(f"promote: version {result.champion} is already @champion; nothing changed")
    return asdict(result)


def cmd_rollback(ctx: CommandContext) -> dict[str, Any]:
    result = registry.rollback(ctx.client(), ctx.names.model, ctx.args.version)
    ctx.say(f"rollback: @champion -> version {result.champion} (was {result.rolled_back_from})")
    return asdict(result)


def cmd_batch_inference(ctx: CommandContext) -> dict[str, Any]:
    result = batch_inference(ctx.runtime, ctx.names, ctx.args.input_table)
    ctx.say(
        f"batch-inference: scored {result.rows} rows with version {result.model_version} "
        f"into {result.table}"
    )
    return asdict(result)


class StageTimer:
    """Wall seconds per local-run stage, in the order they ran: where the time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def table(self) -> str:
        """A small table: stage, seconds, share of the timed total."""
        total = sum(self.seconds.values()) or 1.0
        width = max(len("stage"), *(len(name) for name in self.seconds))
        lines = [f"{'stage':<{width}}  seconds  share"]
        lines += [
            f"{name:<{width}}  {seconds:7.1f}  {seconds / total:5.0%}"
            for name, seconds in self.seconds.items()
        ]
        lines.append(f"{'total':<{width}}  {sum(self.seconds.values()):7.1f}  100%")
        return "\n".join(lines)


def cmd_local_run(ctx: CommandContext) -> dict[str, Any]:
    """The whole lifecycle on the synthetic sample, locally."""
    started = time.monotonic()
    timer = StageTimer()
    check_rows(ctx.args.rows)  # a wrong argument refuses before anything starts or is written
    with timer.stage("start-up"):
        _ = ctx.runtime.spark  # the local Spark session and MLflow store, timed on their own
    with timer.stage("sample"):
        cmd_sample(ctx)
    with timer.stage("features"):
        cmd_features(ctx)
    with timer.stage("train"):
        trained = cmd_train(ctx)
    ctx.args.version = trained["version"]
    with timer.stage("validate"):
        validated = validate_and_record(ctx)
    with timer.stage("promote"):
        if validated["passed"]:
            cmd_promote(ctx)
        else:
            ctx.say("promote: refused, the champion stays (see reasons above)")
{%- if serving %}
    # The local endpoint starts in the background while batch inference runs.
    with timer.stage("deploy-endpoint"):
        deployed = serving_commands.cmd_deploy_endpoint(ctx)
{%- endif %}
    with timer.stage("batch-inference"):
        scored = cmd_batch_inference(ctx)
{%- if serving %}
    with timer.stage("smoke-check"):
        smoke = serving_commands.cmd_smoke_check(ctx)
{%- endif %}
{%- if monitoring %}
    with timer.stage("monitor"):
        monitored = monitoring_commands.cmd_monitor(ctx)
{%- endif %}
    ctx.say(timer.table())
    return {
        "model_name": ctx.names.model,
        "version": trained["version"],
        "promoted": validated["passed"],
        "validated_against": validated["champion_version"],
        "champion_version": scored["model_version"],
        "metrics": trained["metrics"],
        "champion_metrics": validated["champion_metrics"],
        "reasons": validated["reasons"],
        "inference_table": scored["table"],
        "rows_scored": scored["rows"],
{%- if serving %}
        "serving": {**deployed, "smoke_check": smoke},
{%- endif %}
{%- if monitoring %}
        "monitoring": monitored,
{%- endif %}
        "seconds": round(time.monotonic() - started, 1),
        "timings": {name: round(seconds, 2) for name, seconds in timer.seconds.items()},
    }


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def _optional_version(text: str) -> int | None:
    """A version number, or none when empty: a job passes its `version` parameter as is."""
    return int(text) if text.strip() else None


def _version(required: bool, help_text: str) -> Any:
    def add(parser: argparse.ArgumentParser) -> None:
        kind = int if required else _optional_version
        parser.add_argument("--version", type=kind, required=required, help=help_text)

    return add


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    _version(True, "the version to validate")(parser)
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 on a failed verdict too (it is recorded either way)",
    )


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    _version(True, "the version")(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="promote without a passing verdict (a human's decision, tagged on the version; "
        "never in jobs or CI)",
    )


def _input_table(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-table", help="table to score (default: the label table)")


COMMANDS: dict[str, Command] = {
    "sample": Command(cmd_sample, "write the synthetic sample as the source tables"),
    "features": Command(cmd_features, "build, check and upsert the feature tables"),
    "train": Command(
        cmd_train,
        "train, log and register a version; alias it @challenger",
        task_values=("version",),
    ),
    "validate": Command(
        cmd_validate,
        "validate a version against the thresholds and @champion; exit 1 if it fails",
        _validate_arguments,
        task_values=("passed",),
    ),
    "promote": Command(
        cmd_promote, "move @champion to a version that passed validation", _promote_arguments
    ),
    "batch-inference": Command(
        cmd_batch_inference, "score with @champion into the inference table", _input_table
    ),
    "rollback": Command(
        cmd_rollback,
        "move @champion back to the previous champion",
        _version(False, "roll back to this version instead"),
    ),
    "local-run": Command(cmd_local_run, "run the whole lifecycle locally under .local/"),
{%- if serving %}
    **serving_commands.COMMANDS,
{%- endif %}
{%- if monitoring %}
    **monitoring_commands.COMMANDS,
{%- endif %}
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--runtime",
        "--platform",
        dest="runtime",
        choices=KINDS,
        default="auto",
        help="where to run (auto: Databricks on a Databricks runtime, else local)",
    )
    common.add_argument("--target", choices=sorted(CATALOGS), default="dev")
    common.add_argument("--catalog", help="override the target's catalog")
    common.add_argument("--schema", help=f"override the schema (default {SCHEMA})")
    common.add_argument(
        "--model-name", help="model name, or the full catalog.schema.model a bundle resolved"
    )
    common.add_argument("--experiment", help="MLflow experiment name or workspace path")
    common.add_argument("--thresholds", help="thresholds file (default: conf/thresholds.yml)")
    common.add_argument("--seed", type=int, default=DEFAULT_SEED)
    common.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="label rows to sample")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    # Arguments of single commands that local-run also reads.
    common.set_defaults(version=None, input_table=None, force=False, exit_zero=False)

    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description="The ML lifecycle, one command per stage."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # doctor checks where the stages could run, before anything runs: its own arguments.
    doctor.add_arguments(commands.add_parser("doctor", help=doctor.HELP))
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, parents=[common], help=command.help)
        if command.arguments:
            command.arguments(sub)
    return parser


def run(argv: Sequence[str]) -> None:
    """For notebooks: like ``main``, but a refusal raises so the job task fails."""
    code = main(argv)
    if code != 0:
        raise RuntimeError(f"{argv[0]} failed with exit code {code}; see the message above")


def without_empty_sections(value: Any) -> Any:
    """``value`` with every empty object left out, at any depth (an option or stage with nothing
    to report, such as no online tables, adds no ``{}`` to the JSON). Lists and nulls stay: an
    empty list of violations and "no champion yet" are answers, not missing sections."""
    if isinstance(value, dict):
        kept = {key: without_empty_sections(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {}}
    if isinstance(value, list):
        return [without_empty_sections(item) for item in value]
    return value


def job() -> None:
    """The jobs' entry point (pyproject.toml's ``<project>-job`` script), which a
    python_wheel_task calls with its parameters as the command line. A wheel task fails on an
    exception, not on a return value, so a refusal raises (``run``).

    A command that sets task values is refused here: dbutils.jobs.taskValues.set() "can be used
    only in notebooks with Python selected as the language"
    (docs.databricks.com/jobs/task-values.html), so the jobs run those commands as Python notebook
    tasks (notebooks/), and wheel tasks only read task values, as dynamic value references in
    their parameters.
    """
    argv = sys.argv[1:]
    command = COMMANDS.get(argv[0]) if argv else None
    if command is not None and command.task_values:
        raise SystemExit(
            f"{argv[0]} sets the task values {', '.join(command.task_values)}, which only a Python "
            f"notebook task can set: run notebooks/{argv[0].replace('-', '_')}.py as the task"
        )
    run(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor.run(args)
    if args.command == "local-run":
        args.runtime = "local"  # local by definition: everything it writes lives under .local/
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # In --json mode stdout carries only the result; progress and library chatter go to stderr.
    out = sys.stderr if args.json else sys.stdout
    try:
        with contextlib.redirect_stdout(out), CommandContext(args, out) as ctx:
            result = COMMANDS[args.command].run(ctx)
    except Refusal as error:
        print(f"{args.command} refused: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(without_empty_sections(result), default=str))
    return 0

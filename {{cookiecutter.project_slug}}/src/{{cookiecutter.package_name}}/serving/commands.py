{%- set fs = cookiecutter.include_feature_store == "yes" -%}
"""The serving commands: ``deploy-endpoint`` and ``smoke-check`` (the serving job's two tasks)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from ..context import Command, CommandContext
{%- if fs %}
from .deploy import deploy, endpoints_of, smoke_check
from .online_store import publish_features
{%- else %}
from .deploy import deploy, smoke_check
{%- endif %}
from .settings import ServingConfig, load_config


def serving_config(ctx: CommandContext) -> ServingConfig:
    return load_config(ctx.thresholds, getattr(ctx.args, "serving_config", None))


def cmd_deploy_endpoint(ctx: CommandContext) -> dict[str, Any]:
    """Point the serving endpoint at @champion, creating it the first time."""
    result = deploy(
        ctx.runtime,
        ctx.names,
        ctx.args.target,
        serving_config(ctx),
        reader_group=getattr(ctx.args, "reader_group", None),
        developer_group=getattr(ctx.args, "developer_group", None),
        alert_email=getattr(ctx.args, "alert_email", None),
    )
{%- if fs %}
    for table, action in result.online_tables.items():
        ctx.say(f"deploy-endpoint: online table {table}: {action}")
{%- endif %}
    ctx.say(
        f"deploy-endpoint: {result.endpoint} {result.action}, serving version {result.version} "
        f"as {result.served_entity}"
    )
    return asdict(result)


def cmd_smoke_check(ctx: CommandContext) -> dict[str, Any]:
    """Query the endpoint with requests built from the champion's signature; fail on an error,
    a wrong answer, or a server-side p99 over the budget."""
    result = smoke_check(ctx.runtime, ctx.names, serving_config(ctx))
    ctx.say(
        f"smoke-check: {result.endpoint} answered {result.requests} requests of "
        f"{result.rows_per_request} rows from version {result.version}: "
        f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms at the caller"
    )
    if result.judged_p99_ms is None:
        verdict = "latency " + result.latency_source
    else:
        over = "OVER" if result.over_budget else "within"
        verdict = (
            f"p99 {result.judged_p99_ms:.0f} ms {over} the budget of {result.max_p99_ms:g} ms, "
            f"by {result.latency_source}"
        )
    ctx.say(f"smoke-check: {verdict}")
    return asdict(result)
{%- if fs %}


def publish_online_features(ctx: CommandContext) -> dict[str, str]:
    """After a features run: carry the new values into the online store the endpoint reads."""
    published = publish_features(
        endpoints_of(ctx.runtime), ctx.names, ctx.args.target, serving_config(ctx)
    )
    for table, action in published.items():
        ctx.say(f"features: online table {table}: {action}")
    return published
{%- endif %}


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serving-config", help="default: conf/serving.yml")


def _deploy_arguments(parser: argparse.ArgumentParser) -> None:
    _config_argument(parser)
    parser.add_argument("--reader-group", help="group that may query the endpoint")
    parser.add_argument("--developer-group", help="manages the dev endpoint, views the others")
    parser.add_argument("--alert-email", help="told when an endpoint update fails")


COMMANDS = {
    "deploy-endpoint": Command(
        cmd_deploy_endpoint, "point the serving endpoint at @champion", _deploy_arguments
    ),
    "smoke-check": Command(
        cmd_smoke_check,
        "query the endpoint; fail on errors, wrong answers or a slow server-side p99",
        _config_argument,
    ),
}

"""Notebook sources stay importable by Databricks and call real CLI commands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import COMMANDS

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.py"))
SEPARATOR = "\n# COMMAND ----------\n"


def test_all_stages_have_a_notebook() -> None:
    assert {p.stem for p in NOTEBOOKS} == {
        "feature_engineering",
        "sample",
        "train",
        "validate",
        "promote",
        "batch_inference",
        "rollback",
{%- if cookiecutter.include_monitoring == "yes" %}
        "monitor",
        "alert",
{%- endif %}
{%- if cookiecutter.include_serving == "yes" %}
        "deploy_endpoint",
        "smoke_check",
{%- endif %}
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_format(path: Path) -> None:
    text = path.read_text()
    header, _, body = text.partition("\n")
    assert header == "# Databricks notebook source"
    for cell in body.split(SEPARATOR):
        lines = cell.strip().splitlines()
        if any(line.startswith("# MAGIC") for line in lines):
            assert all(line.startswith("# MAGIC") for line in lines), "markdown mixed with code"
        else:
            ast.parse(cell)
    calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)]
    run_call = next(c for c in calls if getattr(c.func, "id", None) == "run")
    command = run_call.args[0].elts[0].value
    assert command in COMMANDS

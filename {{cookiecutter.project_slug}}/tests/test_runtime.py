"""The local side of the runtime seam: tables and feature-table upserts."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.errors import Refusal
from {{ cookiecutter.package_name }}.runtime.databricks import DatabricksRuntime
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime


def test_feature_table_write_is_an_upsert(runtime: LocalRuntime) -> None:
    spark = runtime.spark
    table = "dev.ml.some_features"
    first = spark.createDataFrame(pd.DataFrame({"k": [1, 2], "v": [1.0, 2.0]}))
    update = spark.createDataFrame(pd.DataFrame({"k": [2, 3], "v": [20.0, 30.0]}))
    runtime.write_feature_table(table, first, ["k"], "test")
    runtime.write_feature_table(table, update, ["k"], "test")
    runtime.write_feature_table(table, update, ["k"], "test")  # re-running changes nothing
    rows = sorted(tuple(r) for r in runtime.read_table(table).collect())
    assert rows == [(1, 1.0), (2, 20.0), (3, 30.0)]


def test_task_values_are_recorded_locally(runtime: LocalRuntime) -> None:
    runtime.set_task_value("passed", True)
    assert runtime.task_values == {"passed": True}


def test_only_training_creates_an_experiment(world: LocalRuntime) -> None:
    """Every other command works without creating (or choosing) an MLflow experiment."""
    before = {e.name for e in mlflow.search_experiments()}
    trained = cli.main(["train", "--runtime", "local", "--experiment", "only-train"])
    assert trained == 0
    for command in (["promote", "--version", "1"], ["batch-inference"], ["rollback"]):
        cli.main([*command, "--runtime", "local"])
    assert {e.name for e in mlflow.search_experiments()} - before == {"only-train"}


def test_databricks_training_needs_the_bundles_experiment() -> None:
    with pytest.raises(Refusal, match="--experiment is required"):
        DatabricksRuntime(workspace=object()).use_experiment(Names.resolve("prod"), None)

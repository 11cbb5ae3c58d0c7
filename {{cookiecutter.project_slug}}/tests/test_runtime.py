"""The local side of the runtime seam: tables, feature-table upserts, and the lock on .local/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.errors import Refusal
from {{ cookiecutter.package_name }}.runtime.databricks import DatabricksRuntime
from {{ cookiecutter.package_name }}.runtime.local import LOCK_FILE, LocalRuntime


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


def test_a_second_local_run_refuses_while_one_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lock = tmp_path / ".local" / LOCK_FILE
    first = subprocess.Popen(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "local-run", "--rows", "500"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The holder writes its pid into the lock file once it has the lock.
        while not (lock.exists() and f"pid {first.pid}," in lock.read_text()):
            assert first.poll() is None, "the first run ended before it took the lock"
            time.sleep(0.1)

        capsys.readouterr()
        assert cli.main(["local-run"]) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"local-run refused: {lock}: another local run holds the lock")
        assert f"pid {first.pid}, local-run" in line
    finally:
        os.kill(first.pid, signal.SIGTERM)
        first.wait()
    # The lock died with its holder.
    assert cli.main(["rollback", "--runtime", "local"]) == 1
    assert "holds the lock" not in capsys.readouterr().err


def test_local_run_without_java_is_one_refusal_line(tmp_path: Path) -> None:
    """No Java (or a JAVA_HOME that points nowhere): Spark says why, then local-run refuses in one
    line that names the check to run; no traceback, even though the JVM is started early."""
    environment = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    completed = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "local-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("local-run refused: local Spark did not start"), last
    assert "doctor --target local" in last
    # Spark was started once: its own complaint about the missing java appears once.
    assert completed.stderr.count("no-java/bin/java") == 1, completed.stderr[-3000:]

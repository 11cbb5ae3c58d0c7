from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.feature_pipeline import write_feature_tables
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime, local_spark
from {{ cookiecutter.package_name }}.sample_data import write_sample
from {{ cookiecutter.package_name }}.settings import Thresholds, load_thresholds

# Small enough to keep the suite quick, large enough for a stable signal.
TEST_ROWS = 3000


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_spark()
    yield session
    session.stop()


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: SparkSession) -> LocalRuntime:
    """A local runtime whose tables and MLflow store live in this test's temp dir."""
    monkeypatch.chdir(tmp_path)
    local = LocalRuntime(root=tmp_path / ".local", spark=spark)
    local.configure_mlflow()
    local.use_experiment(Names.resolve("dev"), "tests")
    return local


@pytest.fixture
def names() -> Names:
    return Names.resolve("dev")


@pytest.fixture(scope="session")
def thresholds() -> Thresholds:
    return load_thresholds(MODEL)


@pytest.fixture
def world(runtime: LocalRuntime, names: Names, thresholds: Thresholds) -> LocalRuntime:
    """Source tables and feature tables written for a small synthetic sample."""
    write_sample(runtime, names, seed=3, rows=TEST_ROWS)
    write_feature_tables(runtime, names, thresholds.data_quality)
    return runtime

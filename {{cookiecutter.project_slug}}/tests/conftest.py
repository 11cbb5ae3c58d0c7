from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.features import write_feature_tables
from {{ cookiecutter.package_name }}.platform import LocalPlatform, local_spark
from {{ cookiecutter.package_name }}.sample import write_sample

# Small enough to keep the suite quick, large enough for a stable signal.
TEST_ROWS = 3000


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_spark()
    yield session
    session.stop()


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: SparkSession) -> LocalPlatform:
    """A local platform whose tables and MLflow store live in this test's temp dir."""
    monkeypatch.chdir(tmp_path)
    local = LocalPlatform(root=tmp_path / ".local", spark=spark)
    local.configure_mlflow("tests")
    return local


@pytest.fixture
def names() -> Names:
    return Names.resolve("dev")


@pytest.fixture
def world(platform: LocalPlatform, names: Names) -> LocalPlatform:
    """Source tables and feature tables written for a small synthetic sample."""
    write_sample(platform, names, seed=3, rows=TEST_ROWS)
    write_feature_tables(platform, names)
    return platform

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import SparkSession

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.feature_pipeline import write_feature_tables
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.runtime.local import STORE_FILE, LocalRuntime, local_spark
from {{ cookiecutter.package_name }}.sample_data import write_sample
from {{ cookiecutter.package_name }}.settings import Thresholds, load_thresholds
from {{ cookiecutter.package_name }}.train import train

# Small enough to keep the suite quick, large enough for a stable signal.
TEST_ROWS = 3000


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_spark()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def new_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store as configure_mlflow creates it in a new .local/, made once: creating one
    runs MLflow's schema migrations, a second or more that each test would pay again."""
    root = tmp_path_factory.mktemp("new-store") / ".local"
    LocalRuntime(root=root).configure_mlflow()
    return root / STORE_FILE


@pytest.fixture
def runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: SparkSession, new_store: Path
) -> LocalRuntime:
    """A local runtime whose tables and MLflow store live in this test's temp dir."""
    monkeypatch.chdir(tmp_path)
    local = LocalRuntime(root=tmp_path / ".local", spark=spark)
    local.root.mkdir()
    shutil.copyfile(new_store, local.root / STORE_FILE)
    local.configure_mlflow()
    local.use_experiment(Names.resolve("dev"), "tests")
    return local


@pytest.fixture
def names() -> Names:
    return Names.resolve("dev")


@pytest.fixture(scope="session")
def thresholds() -> Thresholds:
    return load_thresholds(MODEL)


@pytest.fixture(scope="session")
def sample_tables(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession, thresholds: Thresholds
) -> Path:
    """The sample's source and feature tables, written once per session by the real stages."""
    local = LocalRuntime(root=tmp_path_factory.mktemp("sample") / ".local", spark=spark)
    names = Names.resolve("dev")
    write_sample(local, names, seed=3, rows=TEST_ROWS)
    write_feature_tables(local, names, thresholds.data_quality)
    return local.root / "tables"


@pytest.fixture
def world(runtime: LocalRuntime, sample_tables: Path) -> LocalRuntime:
    """Source tables and feature tables written for a small synthetic sample: a copy of the
    session's parquet files (seconds of Spark jobs saved per test), which the test may change."""
    shutil.copytree(sample_tables, runtime.root / "tables")
    return runtime


@pytest.fixture
def train_degraded(world: LocalRuntime, names: Names) -> Callable[[], int]:
    """Trains a version on shuffled labels (no signal left), then puts the labels back."""

    def run() -> int:
        table = names.table(MODEL.labels.name)
        original = world.read_table(table).toPandas()
        shuffled = original.copy()
        labels = shuffled[MODEL.label].to_numpy()
        shuffled[MODEL.label] = np.random.default_rng(0).permutation(labels)
        world.write_table(table, world.spark.createDataFrame(shuffled))
        version = train(world, names).version
        world.write_table(table, world.spark.createDataFrame(original))
        return version

    return run

"""The data-quality gate: declared source columns, schema changes, null keys and null rates."""

import dataclasses

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.data_quality import DataQualityError, check_quality
from {{ cookiecutter.package_name }}.feature_pipeline import write_feature_tables
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
from {{ cookiecutter.package_name }}.settings import DataQuality, Thresholds

LIMIT = 0.05


def frame(spark: SparkSession, nulls: int, rows: int = 20) -> DataFrame:
    values = [None] * nulls + [float(i) for i in range(rows - nulls)]
    return spark.createDataFrame(
        pd.DataFrame({"user_id": range(rows), "clean": [1.0] * rows, "sparse": values})
    )


def test_clean_data_is_accepted(spark: SparkSession) -> None:
    rates = check_quality("t", frame(spark, nulls=1), ["user_id"], None, LIMIT).rates
    assert rates == {"user_id": 0.0, "clean": 0.0, "sparse": pytest.approx(0.05)}


def test_null_rate_above_limit_names_the_column(spark: SparkSession) -> None:
    with pytest.raises(DataQualityError, match=r"sparse \(10\.0%\)") as raised:
        check_quality("t", frame(spark, nulls=2), ["user_id"], None, LIMIT)
    assert "clean" not in str(raised.value)


def test_null_keys_are_refused(spark: SparkSession) -> None:
    df = spark.createDataFrame(pd.DataFrame({"user_id": [1.0, None], "x": [1.0, 2.0]}))
    with pytest.raises(DataQualityError, match="user_id"):
        check_quality("t", df, ["user_id"], None, LIMIT)


def test_schema_drift_is_refused(spark: SparkSession) -> None:
    existing = frame(spark, nulls=0).schema
    renamed = frame(spark, nulls=0).withColumnRenamed("clean", "cleaner")
    with pytest.raises(DataQualityError, match="missing columns clean;") as raised:
        check_quality("t", renamed, ["user_id"], existing, LIMIT)
    assert str(raised.value).endswith("added columns cleaner")

    retyped = frame(spark, nulls=0).withColumn("clean", F.col("clean").cast("string"))
    with pytest.raises(DataQualityError, match=r"changed types.*clean double -> string"):
        check_quality("t", retyped, ["user_id"], existing, LIMIT)


def test_same_schema_is_accepted(spark: SparkSession) -> None:
    df = frame(spark, nulls=0)
    check_quality("t", df, ["user_id"], df.schema, LIMIT)


def test_alert_action_reports_instead_of_refusing(spark: SparkSession) -> None:
    report = check_quality("t", frame(spark, nulls=2), ["user_id"], None, LIMIT, "alert")
    assert report.too_sparse == {"sparse": pytest.approx(0.10)}


def with_sparse_first_table() -> tuple:
    """The model, with its first feature table's first feature blanked in about half the rows."""
    table = MODEL.feature_tables[0]

    def sparse(*sources: DataFrame) -> DataFrame:
        df = table.build(*sources)
        column = next(c for c in df.columns if c != table.key)
        return df.withColumn(column, F.when(F.rand(seed=1) > 0.5, F.col(column)))

    tables = (dataclasses.replace(table, build=sparse), *MODEL.feature_tables[1:])
    return dataclasses.replace(MODEL, feature_tables=tables), table


def test_gate_blocks_or_alerts_on_feature_tables(
    world: LocalRuntime, names: Names, thresholds: Thresholds
) -> None:
    model, table = with_sparse_first_table()
    name = names.table(table.name)
    before = world.read_table(name).orderBy(table.key).toPandas()

    block = DataQuality(thresholds.data_quality.max_null_rate, "block")
    with pytest.raises(DataQualityError, match=f"{name}: null rate above"):
        write_feature_tables(world, names, block, model)
    after = world.read_table(name).orderBy(table.key).toPandas()
    pd.testing.assert_frame_equal(before, after)

    alert = dataclasses.replace(block, action="alert")
    run = write_feature_tables(world, names, alert, model)
    assert list(run.sparse_columns) == [name]
    [column] = run.sparse_columns[name]
    assert world.read_table(name).filter(F.col(column).isNull()).count() > 0


def test_missing_source_column_is_one_refusal_line(
    world: LocalRuntime, names: Names, capsys: pytest.CaptureFixture[str]
) -> None:
    source = MODEL.sources[0]
    dropped = source.columns[-1]
    name = names.table(source.name)
    world.write_table(name, world.read_table(name).drop(dropped).localCheckpoint())
    capsys.readouterr()

    assert cli.main(["features", "--runtime", "local"]) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"features refused: {name}: lacks columns {dropped} that")

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.features import write_feature_tables
from {{ cookiecutter.package_name }}.features.quality import DataQualityError, check_quality
from {{ cookiecutter.package_name }}.platform import LocalPlatform


def frame(spark: SparkSession, nulls: int, rows: int = 20) -> DataFrame:
    values = [None] * nulls + [float(i) for i in range(rows - nulls)]
    return spark.createDataFrame(
        pd.DataFrame({"user_id": range(rows), "clean": [1.0] * rows, "sparse": values})
    )


def test_clean_data_is_accepted(spark: SparkSession) -> None:
    rates = check_quality("t", frame(spark, nulls=1), ["user_id"], existing=None)
    assert rates == {"user_id": 0.0, "clean": 0.0, "sparse": pytest.approx(0.05)}


def test_null_rate_above_limit_names_the_column(spark: SparkSession) -> None:
    with pytest.raises(DataQualityError, match=r"sparse \(10\.0%\)") as raised:
        check_quality("t", frame(spark, nulls=2), ["user_id"], existing=None)
    assert "clean" not in str(raised.value)


def test_null_keys_are_refused(spark: SparkSession) -> None:
    df = spark.createDataFrame(pd.DataFrame({"user_id": [1.0, None], "x": [1.0, 2.0]}))
    with pytest.raises(DataQualityError, match="user_id"):
        check_quality("t", df, ["user_id"], existing=None)


def test_schema_drift_is_refused(spark: SparkSession) -> None:
    existing = frame(spark, nulls=0).schema
    renamed = frame(spark, nulls=0).withColumnRenamed("clean", "cleaner")
    with pytest.raises(DataQualityError, match=r"missing columns \['clean'\]") as raised:
        check_quality("t", renamed, ["user_id"], existing)
    assert "added columns ['cleaner']" in str(raised.value)

    retyped = frame(spark, nulls=0).withColumn("clean", F.col("clean").cast("string"))
    with pytest.raises(DataQualityError, match=r"changed types.*clean double -> string"):
        check_quality("t", retyped, ["user_id"], existing)


def test_same_schema_is_accepted(spark: SparkSession) -> None:
    df = frame(spark, nulls=0)
    check_quality("t", df, ["user_id"], existing=df.schema)


def test_gate_blocks_feature_tables_write(world: LocalPlatform, names: Names) -> None:
    before = world.read_table(names.user_features).orderBy("user_id").toPandas()
    # Blank the age of every tenth user: well above the 5 % limit.
    users = world.read_table(names.users)
    blanked = users.withColumn("age", F.when(F.col("user_id") % 10 != 0, F.col("age")))
    world.write_table(names.users, blanked.localCheckpoint())

    with pytest.raises(DataQualityError, match=r"user_features: null rate .* age \("):
        write_feature_tables(world, names)

    after = world.read_table(names.user_features).orderBy("user_id").toPandas()
    pd.testing.assert_frame_equal(before, after)

"""Tests of the team's model (team-owned, like model/): its feature transforms and its sample."""

import importlib
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

# This example model ships with the template's tests and runs inside whichever project it is
# copied into, so it finds the package by its contract instead of naming it.
# (The template's own suite does not collect tests/byom/.)
[PACKAGE] = [p.parent.name for p in Path(__file__).resolve().parents[1].glob("src/*/contract.py")]
MODEL = importlib.import_module(f"{PACKAGE}.model").MODEL
features = importlib.import_module(f"{PACKAGE}.model.features")
data = importlib.import_module(f"{PACKAGE}.model.data")

KEY, LABEL = data.KEY, data.LABEL

VISITS = pd.DataFrame(
    {
        KEY: [1, 2, 3],
        "age": [50, 61, 38],
        "sex": [1, 2, 2],
        "bmi": [25.0, 31.5, 22.1],
        "blood_pressure": [90.0, 104.0, 80.0],
    }
)
# Visit 1 has two draws, visit 2 one, visit 3 none.
BLOOD_TESTS = pd.DataFrame(
    {
        KEY: [1, 1, 2],
        "draw": [1, 2, 1],
        "total_cholesterol": [180.0, 190.0, 220.0],
        "ldl": [100.0, 110.0, 140.0],
        "hdl": [50.0, 40.0, 35.0],
        "tch_hdl_ratio": [3.6, 4.8, 6.3],
        "log_triglycerides": [4.5, 4.7, 5.1],
        "glucose": [85.0, 95.0, 110.0],
    }
)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)


def _doubles(df) -> None:
    assert {f.dataType.simpleString() for f in df.schema.fields if f.name != KEY} == {"double"}


def test_vital_features_match_pandas(spark: SparkSession) -> None:
    actual = features.build_vital_features(spark.createDataFrame(VISITS))
    _doubles(actual)
    expected = pd.DataFrame(
        {
            KEY: VISITS[KEY],
            "age": VISITS["age"].astype(float),
            "bmi": VISITS["bmi"],
            "blood_pressure": VISITS["blood_pressure"],
            "sex_2": (VISITS["sex"] == 2).astype(float),
            "bmi_x_pressure": VISITS["bmi"] * VISITS["blood_pressure"] / 100,
        }
    )
    pd.testing.assert_frame_equal(_sorted(actual.toPandas()), expected, check_dtype=False)


def test_blood_features_average_the_draws(spark: SparkSession) -> None:
    actual = features.build_blood_features(spark.createDataFrame(BLOOD_TESTS))
    _doubles(actual)
    per_visit = BLOOD_TESTS.groupby(KEY)
    expected = per_visit[list(data.TESTS)].mean().reset_index()
    expected.insert(1, "blood_draws", per_visit.size().to_numpy().astype(float))
    expected["non_hdl_cholesterol"] = expected["total_cholesterol"] - expected["hdl"]
    # A visit without a draw has no row: the lookup leaves its features null for the imputer.
    pd.testing.assert_frame_equal(_sorted(actual.toPandas()), expected, check_dtype=False)
    assert expected.loc[0, "hdl"] == pytest.approx(45.0)


def test_sample_is_deterministic_and_has_a_signal() -> None:
    first, second = MODEL.sample(11, 2000), MODEL.sample(11, 2000)
    assert set(first) == {table.name for table in MODEL.tables}
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[name])
    labels = first[MODEL.labels.name]
    assert labels[KEY].tolist() == list(range(1, 2001))
    assert labels[LABEL].between(25, 346).all()  # the study's range of progression
    visits = first[data.VISITS.name]
    assert visits[KEY].tolist() == labels[KEY].tolist()
    draws = first[data.BLOOD_TESTS.name]
    assert set(draws[KEY]) <= set(visits[KEY])
    assert 0 < 2000 - draws[KEY].nunique() < 60  # a few visits without a draw
    assert draws.groupby(KEY)["draw"].max().max() > 1  # and some with several
    # Body mass index is the study's strongest single predictor.
    assert visits["bmi"].corr(labels[LABEL]) > 0.45
    assert not MODEL.sample(12, 2000)[MODEL.labels.name].equals(labels)

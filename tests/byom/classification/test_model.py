"""Tests of the team's model (team-owned, like model/): its feature transforms and its sample."""

import importlib
from pathlib import Path

import numpy as np
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


def measured(ids: list[int], scale: float) -> pd.DataFrame:
    """Source-shaped rows: every measurement column, distinct per patient."""
    frame = pd.DataFrame({KEY: ids})
    for number, column in enumerate((*data.MEANS, *data.ERRORS, *data.WORST), start=1):
        frame[column] = [scale * number * patient for patient in ids]
    return frame


SUMMARY = measured([1, 2, 3], 1.0)[list(data.SUMMARY.columns)]
# Patient 3's worst-case readout is lost; patient 2's worst area is twice its mean.
EXTREMES = measured([1, 2], 1.5)[list(data.EXTREMES.columns)]
EXTREMES.loc[1, "area_worst"] = 2 * SUMMARY.loc[1, "area_mean"]


def expected(columns: list[str], growth: list[str]) -> pd.DataFrame:
    """The same features computed independently with pandas."""
    df = SUMMARY.merge(EXTREMES, on=KEY, how="left")
    out = df[[KEY, *columns]].astype(dict.fromkeys(columns, float))
    for measurement in growth:
        out[f"{measurement}_growth"] = df[f"{measurement}_worst"] / df[f"{measurement}_mean"]
    return out


def built(spark: SparkSession, build) -> pd.DataFrame:
    df = build(spark.createDataFrame(SUMMARY), spark.createDataFrame(EXTREMES))
    assert {f.dataType.simpleString() for f in df.schema.fields if f.name != KEY} == {"double"}
    return df.toPandas().sort_values(KEY).reset_index(drop=True)


def test_size_features_match_pandas(spark: SparkSession) -> None:
    columns = [f"{m}_{k}" for m in features.SIZE for k in ("mean", "se", "worst")]
    actual = built(spark, features.build_size_features)
    pd.testing.assert_frame_equal(actual, expected(columns, ["area", "radius"]), check_dtype=False)
    assert actual.loc[1, "area_growth"] == pytest.approx(2.0)


def test_shape_features_match_pandas(spark: SparkSession) -> None:
    columns = [f"{m}_{k}" for m in features.SHAPE for k in ("mean", "worst")]
    actual = built(spark, features.build_shape_features)
    pd.testing.assert_frame_equal(actual, expected(columns, ["smoothness"]), check_dtype=False)
    # A patient without a worst-case readout keeps a row, with nulls for the imputer.
    assert actual.loc[2, "texture_mean"] == pytest.approx(6.0)
    assert actual.loc[2, ["texture_worst", "smoothness_growth"]].isna().all()


def test_sample_is_deterministic_and_has_a_signal() -> None:
    first, second = MODEL.sample(11, 2000), MODEL.sample(11, 2000)
    assert set(first) == {table.name for table in MODEL.tables}
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[name])
    labels = first[MODEL.labels.name]
    assert labels[KEY].tolist() == list(range(1, 2001))
    assert set(labels[LABEL]) == {0, 1}
    assert 0.25 < labels[LABEL].mean() < 0.5  # about 37 % of the biopsies are malignant
    summary = first[data.SUMMARY.name]
    assert summary[KEY].tolist() == labels[KEY].tolist()
    assert 0 < 2000 - len(first[data.EXTREMES.name]) < 60  # a few readouts are lost
    # Malignant nuclei are larger: the signal the model learns survives the resampling.
    radius = summary.set_index(KEY)["radius_mean"]
    by_label = radius.groupby(labels.set_index(KEY)[LABEL]).mean()
    assert by_label[1] > 1.3 * by_label[0]
    assert not MODEL.sample(12, 2000)[data.SUMMARY.name].equals(summary)
    assert np.isfinite(summary.drop(columns=[KEY]).to_numpy()).all()

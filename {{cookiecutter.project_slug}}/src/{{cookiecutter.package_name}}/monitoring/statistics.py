"""The statistics of the checks, computed with Spark (only small aggregates reach the driver)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..config import PREDICTION
from ..contract import Metric

# Keeps PSI finite when a bucket is empty on one side.
EPSILON = 1e-4
LATENCY_COLUMN = "execution_duration_ms"


def bucket_edges(baseline: DataFrame, columns: Sequence[str], bins: int) -> dict[str, list[float]]:
    """Inner bucket edges per column at the baseline's quantiles (duplicates dropped)."""
    probabilities = [i / bins for i in range(1, bins)]
    quantiles = baseline.approxQuantile(list(columns), probabilities, 0.001)
    return {c: sorted({float(q) for q in qs}) for c, qs in zip(columns, quantiles, strict=True)}


def bucket(column: str, edges: Sequence[float]) -> Column:
    """A value's bucket: how many edges lie below it (0 to len(edges)); null and NaN are -1.

    One SQL expression per column: built from Column objects instead, each edge would cost a few
    round trips to the JVM, seconds in all for a dozen columns on a laptop.
    """
    value = f"CAST(`{column.replace('`', '``')}` AS DOUBLE)"
    # repr() is the shortest text that reads back as the same double (inf and nan included).
    above = " + ".join(f"IF({value} > CAST('{float(e)!r}' AS DOUBLE), 1, 0)" for e in edges) or "0"
    return F.expr(f"CASE WHEN {value} IS NULL OR isnan({value}) THEN -1 ELSE {above} END")


def bucket_shares(df: DataFrame, edges: dict[str, list[float]]) -> dict[str, dict[int, float]]:
    """Share of rows per bucket and column, in one aggregation; nulls are bucket -1."""
    if not edges:
        return {}
    buckets = [
        F.struct(F.lit(column).alias("column"), bucket(column, column_edges).alias("bucket"))
        for column, column_edges in edges.items()
    ]
    counts = (
        df.select(F.explode(F.array(*buckets)).alias("b"))
        .groupBy("b.column", "b.bucket")
        .count()
        .collect()
    )
    totals: dict[str, int] = {}
    for row in counts:
        totals[row["column"]] = totals.get(row["column"], 0) + row["count"]
    shares: dict[str, dict[int, float]] = {column: {} for column in edges}
    for row in counts:
        shares[row["column"]][row["bucket"]] = row["count"] / totals[row["column"]]
    return shares


def psi(
    baseline: DataFrame, current: DataFrame, columns: Sequence[str], bins: int
) -> dict[str, float]:
    """Population stability index per column: sum((c - b) * ln(c / b)) over baseline buckets."""
    edges = bucket_edges(baseline, columns, bins)
    expected, actual = bucket_shares(baseline, edges), bucket_shares(current, edges)
    result = {}
    for column in columns:
        keys = expected[column].keys() | actual[column].keys()
        total = 0.0
        for key in keys:
            b = max(expected[column].get(key, 0.0), EPSILON)
            c = max(actual[column].get(key, 0.0), EPSILON)
            total += (c - b) * math.log(c / b)
        result[column] = total
    return result


def prediction_change(
    baseline: DataFrame, current: DataFrame, problem_type: str, bins: int
) -> float:
    """Total variation distance of the prediction distributions (classes, or baseline buckets)."""
    if problem_type == "classification":
        expected = _class_shares(baseline)
        actual = _class_shares(current)
    else:
        edges = bucket_edges(baseline, [PREDICTION], bins)
        expected = bucket_shares(baseline, edges)[PREDICTION]
        actual = bucket_shares(current, edges)[PREDICTION]
    keys = expected.keys() | actual.keys()
    return 0.5 * sum(abs(expected.get(k, 0.0) - actual.get(k, 0.0)) for k in keys)


def _class_shares(df: DataFrame) -> dict[Any, float]:
    rows = df.groupBy(PREDICTION).count().collect()
    total = sum(row["count"] for row in rows)
    return {row[PREDICTION]: row["count"] / total for row in rows}


def labelled_metric(df: DataFrame, label: str, metric: Metric) -> float | None:
    """The model's own metric over the rows that have a label; None without any.

    Only the label and prediction columns of the labelled rows are collected: a scored batch,
    not the whole inference table.
    """
    labelled = df.filter(F.col(label).isNotNull()).select(label, PREDICTION).toPandas()
    if labelled.empty:
        return None
    return float(metric.compute(labelled[label].to_numpy(), labelled[PREDICTION].to_numpy()))


def relative_drop(baseline: float, current: float, higher_is_better: bool) -> float:
    """How much worse ``current`` is, relative to ``baseline`` (negative when it improved)."""
    if baseline == 0:
        return 0.0 if current == baseline else math.inf
    change = (baseline - current) / abs(baseline)
    return change if higher_is_better else -change


def p99_latency(df: DataFrame, column: str = LATENCY_COLUMN) -> float | None:
    """Exact 99th percentile of the request durations (ms); None for an empty table."""
    return df.agg(F.percentile(F.col(column), F.lit(0.99)).alias("p99")).first()["p99"]

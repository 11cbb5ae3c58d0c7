"""The data-quality gate every feature table passes before it is written."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .. import config

# The limit without monitoring; with it, conf/monitoring.yml (checks.data_quality) sets it.
MAX_NULL_RATE = 0.05


class DataQualityError(ValueError):
    """Raised when a feature DataFrame must not be written."""


def null_rate_limit() -> float:
    """The null-rate limit: conf/monitoring.yml's when monitoring is on, else MAX_NULL_RATE."""
    if config.MONITORING:
        from ..monitoring import load_config

        return load_config().limit("data_quality")
    return MAX_NULL_RATE


def check_schema(table: str, new: StructType, existing: StructType | None) -> None:
    """Refuse added, missing or retyped columns against the table already written."""
    if existing is None:
        return
    old_types = {f.name: f.dataType.simpleString() for f in existing.fields}
    new_types = {f.name: f.dataType.simpleString() for f in new.fields}
    problems = []
    if missing := sorted(old_types.keys() - new_types.keys()):
        problems.append(f"missing columns {missing}")
    if added := sorted(new_types.keys() - old_types.keys()):
        problems.append(f"added columns {added}")
    changed = [
        f"{name} {old_types[name]} -> {new_types[name]}"
        for name in sorted(old_types.keys() & new_types.keys())
        if old_types[name] != new_types[name]
    ]
    if changed:
        problems.append(f"changed types {changed}")
    if problems:
        raise DataQualityError(f"Schema change in {table}: " + "; ".join(problems))


def null_rates(df: DataFrame) -> tuple[int, dict[str, float]]:
    """Row count and per-column null rate, computed in one aggregate."""
    aggregates = [
        F.avg(F.col(c).isNull().cast("double")).alias(f"c{i}") for i, c in enumerate(df.columns)
    ]
    row = df.agg(F.count(F.lit(1)).alias("rows"), *aggregates).first()
    return row["rows"], {c: row[f"c{i}"] or 0.0 for i, c in enumerate(df.columns)}


def check_quality(
    table: str,
    df: DataFrame,
    primary_keys: Sequence[str],
    existing: StructType | None,
    max_null_rate: float | None = None,
) -> dict[str, float]:
    """Raise DataQualityError naming the offending columns; return the null rates if clean."""
    if max_null_rate is None:
        max_null_rate = null_rate_limit()
    check_schema(table, df.schema, existing)
    rows, rates = null_rates(df)
    if rows == 0:
        raise DataQualityError(f"{table}: no rows to write")
    null_keys = [k for k in primary_keys if rates[k] > 0]
    if null_keys:
        raise DataQualityError(f"{table}: primary key columns contain nulls: {null_keys}")
    too_sparse = {c: r for c, r in rates.items() if c not in primary_keys and r > max_null_rate}
    if too_sparse:
        detail = ", ".join(f"{c} ({r:.1%})" for c, r in sorted(too_sparse.items()))
        raise DataQualityError(
            f"{table}: null rate above {max_null_rate:.0%} in feature columns: {detail}"
        )
    return rates

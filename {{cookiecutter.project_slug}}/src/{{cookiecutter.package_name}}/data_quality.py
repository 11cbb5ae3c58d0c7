"""The data-quality gate: source columns before any Spark plan, then schema and null rates of
every feature table before it is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .errors import Refusal


class DataQualityError(Refusal):
    """A table must not be used or written as it is."""


def check_source_columns(table: str, declared: Sequence[str], schema: StructType | None) -> None:
    """Refuse a missing source table, or one that lacks a column the model declares."""
    if schema is None:
        raise DataQualityError(f"{table}: no such table, yet model/data.py declares it")
    if missing := [c for c in declared if c not in schema.fieldNames()]:
        raise DataQualityError(
            f"{table}: lacks columns {', '.join(missing)} that model/data.py declares "
            f"(it has {', '.join(sorted(schema.fieldNames()))})"
        )


def check_schema(table: str, new: StructType, existing: StructType | None) -> None:
    """Refuse added, missing or retyped columns against the table already written."""
    if existing is None:
        return
    old_types = {f.name: f.dataType.simpleString() for f in existing.fields}
    new_types = {f.name: f.dataType.simpleString() for f in new.fields}
    problems = []
    if missing := sorted(old_types.keys() - new_types.keys()):
        problems.append(f"missing columns {', '.join(missing)}")
    if added := sorted(new_types.keys() - old_types.keys()):
        problems.append(f"added columns {', '.join(added)}")
    changed = [
        f"{name} {old_types[name]} -> {new_types[name]}"
        for name in sorted(old_types.keys() & new_types.keys())
        if old_types[name] != new_types[name]
    ]
    if changed:
        problems.append(f"changed types {', '.join(changed)}")
    if problems:
        raise DataQualityError(f"Schema change in {table}: " + "; ".join(problems))


def null_rates(df: DataFrame) -> tuple[int, dict[str, float]]:
    """Row count and per-column null rate, computed in one aggregate."""
    aggregates = [
        F.avg(F.col(c).isNull().cast("double")).alias(f"c{i}") for i, c in enumerate(df.columns)
    ]
    row = df.agg(F.count(F.lit(1)).alias("rows"), *aggregates).first()
    return row["rows"], {c: row[f"c{i}"] or 0.0 for i, c in enumerate(df.columns)}


@dataclass(frozen=True)
class QualityReport:
    rates: dict[str, float]
    # Feature columns over the null-rate limit (written anyway when the action is "alert").
    too_sparse: dict[str, float] = field(default_factory=dict)


def check_quality(
    table: str,
    df: DataFrame,
    primary_keys: Sequence[str],
    existing: StructType | None,
    max_null_rate: float,
    action: str = "block",
) -> QualityReport:
    """Raise DataQualityError naming the offending columns, or report them (``action`` alert)."""
    check_schema(table, df.schema, existing)
    rows, rates = null_rates(df)
    if rows == 0:
        raise DataQualityError(f"{table}: no rows to write")
    null_keys = [k for k in primary_keys if rates[k] > 0]
    if null_keys:
        raise DataQualityError(
            f"{table}: primary key columns contain nulls: {', '.join(null_keys)}"
        )
    too_sparse = {c: r for c, r in rates.items() if c not in primary_keys and r > max_null_rate}
    if too_sparse and action == "block":
        raise DataQualityError(
            f"{table}: null rate above {max_null_rate:.0%} in feature columns: "
            + describe_rates(too_sparse)
        )
    return QualityReport(rates, too_sparse)


def describe_rates(rates: dict[str, float]) -> str:
    return ", ".join(f"{c} ({r:.1%})" for c, r in sorted(rates.items()))

"""The features stage: build the model's feature tables, pass them through the quality gate,
then upsert them by key."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import Names
from .contract import ModelSpec
from .data_quality import check_quality, check_source_columns
from .model import MODEL
from .runtime import Runtime
from .settings import DataQuality


@dataclass(frozen=True)
class FeatureRun:
    tables: list[str]
    # Table -> feature columns over the null-rate limit, written because the action is "alert".
    sparse_columns: dict[str, dict[str, float]] = field(default_factory=dict)


def check_sources(runtime: Runtime, names: Names, model: ModelSpec = MODEL) -> None:
    """Every table the model reads exists with its declared columns (before any Spark plan)."""
    for table in model.tables:
        name = names.table(table.name)
        check_source_columns(name, table.columns, runtime.table_schema(name))


def write_feature_tables(
    runtime: Runtime, names: Names, gate: DataQuality, model: ModelSpec = MODEL
) -> FeatureRun:
    """Build every feature table; nothing is written if a gate refuses any of them."""
    check_sources(runtime, names, model)
    built = []
    for table in model.feature_tables:
        sources = [runtime.read_table(names.table(source)) for source in table.sources]
        built.append((table, names.table(table.name), table.build(*sources)))
    # Check every table before writing any, so a refusal leaves them all consistent.
    sparse = {}
    for table, name, df in built:
        report = check_quality(
            name, df, [table.key], runtime.table_schema(name), gate.max_null_rate, gate.action
        )
        if report.too_sparse:
            sparse[name] = report.too_sparse
    for table, name, df in built:
        runtime.write_feature_table(name, df, [table.key], table.description)
    return FeatureRun([name for _, name, _ in built], sparse)

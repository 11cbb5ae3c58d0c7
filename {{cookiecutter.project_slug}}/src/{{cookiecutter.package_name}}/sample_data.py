"""The sample stage: write the model's synthetic sample as the source and label tables (dev,
staging and local runs; prod reads the real tables)."""

from __future__ import annotations

from .config import Names
from .contract import ModelSpec
from .errors import Refusal
from .model import MODEL
from .runtime import Runtime

DEFAULT_ROWS = 10_000
DEFAULT_SEED = 7


class SampleError(Refusal):
    """The sample cannot be written as asked."""


def check_rows(rows: int) -> None:
    if rows < 1:
        raise SampleError(f"--rows {rows}: the sample needs at least 1 label row")


def write_sample(
    runtime: Runtime,
    names: Names,
    seed: int = DEFAULT_SEED,
    rows: int = DEFAULT_ROWS,
    model: ModelSpec = MODEL,
) -> dict[str, int]:
    """Write every table of the sample, replacing any previous sample; return rows per table."""
    check_rows(rows)
    frames = model.sample(seed, rows)
    expected = {table.name for table in model.tables}
    if set(frames) != expected:
        raise SampleError(
            f"model/data.py: the sample returns tables {sorted(frames)}, "
            f"expected {sorted(expected)}"
        )
    if empty := sorted(name for name, frame in frames.items() if frame.empty):
        raise SampleError(f"--rows {rows}: the sample leaves tables {empty} empty")
    counts = {}
    for table in model.tables:
        frame = frames[table.name]
        if missing := [c for c in table.columns if c not in frame.columns]:
            raise SampleError(f"{table.name}: the sample lacks declared columns {missing}")
        name = names.table(table.name)
        runtime.write_table(name, runtime.spark.createDataFrame(frame))
        counts[name] = len(frame)
    return counts

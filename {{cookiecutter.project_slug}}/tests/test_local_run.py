"""`python -m {{ cookiecutter.package_name }} local-run --json`, end to end, twice, in a fresh directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.model import MODEL

# The stages local-run times, in the order they run.
STAGES = [
    "start-up",
    "sample",
    "features",
    "train",
    "validate",
    "promote",
{%- if cookiecutter.include_serving == "yes" %}
    "deploy-endpoint",
{%- endif %}
    "batch-inference",
{%- if cookiecutter.include_serving == "yes" %}
    "smoke-check",
{%- endif %}
{%- if cookiecutter.include_monitoring == "yes" %}
    "monitor",
{%- endif %}
]


def local_run(cwd: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "local-run", "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout)  # stdout must hold exactly one JSON object
    # Where the time went: every stage that ran, in the JSON and as a row of the table on stderr.
    assert list(result["timings"]) == STAGES
    rows = {line.split()[0] for line in completed.stderr.splitlines() if line.strip()}
    assert {*STAGES, "stage", "total"} <= rows, completed.stderr[-3000:]
    assert not empty_sections(result), "empty sections are left out of the JSON"
    return result


def empty_sections(value: Any, path: str = "") -> list[str]:
    """Where in a JSON value an empty object sits."""
    if value == {}:
        return [path or "."]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empty_sections(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empty_sections(item, f"{path}[{i}]")]
    return []


def test_local_run_twice(tmp_path: Path) -> None:
    first = local_run(tmp_path)
    names = Names.resolve("dev")
    assert first["model_name"] == names.model
    assert (first["version"], first["promoted"], first["champion_version"]) == (1, True, 1)
    assert first["validated_against"] is None
    tables = tmp_path / ".local" / "tables" / names.catalog / names.schema
    labels = pq.read_table(tables / MODEL.labels.name)
    assert first["rows_scored"] == labels.num_rows > 0

    second = local_run(tmp_path)
    assert second["version"] == 2
    assert second["validated_against"] == 1
    # Same seed, same data, same forest: identical metrics, and "not better" is not promoted.
    assert second["metrics"] == pytest.approx(first["metrics"])
    assert second["champion_metrics"] == pytest.approx(first["metrics"])
    assert second["promoted"] is False
    assert second["champion_version"] == 1
    assert any(reason.startswith("does not beat champion") for reason in second["reasons"])
{%- if cookiecutter.include_serving == "yes" %}
    # The local endpoint serves the champion, whichever run trained it.
    for run in (first, second):
        served = run["serving"]
        assert served["version"] == run["champion_version"] == 1
        smoke = served["smoke_check"]
        assert smoke["version"] == 1
        # Locally the p99 is reported against the budget, never held to it: a busy laptop is
        # not a slow model.
        assert smoke["over_budget"] == (smoke["p99_ms"] > smoke["max_p99_ms"])
{%- endif %}
{%- if cookiecutter.include_monitoring == "yes" and cookiecutter.include_serving == "yes" %}
    # The latency check reads the local endpoint's requests (its verdict depends on the machine).
    latency = [r for r in second["monitoring"]["results"] if r["check"] == "latency"]
    assert [r["value"] > 0 for r in latency] == [True], latency
{%- endif %}
    assert (tmp_path / ".local" / "mlflow.db").exists()

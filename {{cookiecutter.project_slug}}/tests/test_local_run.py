"""`python -m {{ cookiecutter.package_name }} local-run --json`, end to end, twice, in a fresh directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import config


def local_run(cwd: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "local-run", "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)  # stdout must hold exactly one JSON object


def test_local_run_twice(tmp_path: Path) -> None:
    first = local_run(tmp_path)
    expected_model = f"{config.CATALOGS['dev']}.{config.SCHEMA}.{config.MODEL_NAME}"
    assert first["model_name"] == expected_model
    assert (first["version"], first["promoted"], first["champion_version"]) == (1, True, 1)
    assert first["validated_against"] is None
    assert first["rows_scored"] >= 10_000

    second = local_run(tmp_path)
    assert second["version"] == 2
    assert second["validated_against"] == 1
    # Same seed, same data, same forest: identical metrics, and "not better" is not promoted.
    assert second["metrics"] == pytest.approx(first["metrics"])
    assert second["champion_metrics"] == pytest.approx(first["metrics"])
    assert second["promoted"] is False
    assert second["champion_version"] == 1
    assert any(reason.startswith("does not beat champion") for reason in second["reasons"])
    if config.SERVING:
        # The local endpoint serves the champion, whichever run trained it.
        for run in (first, second):
            served = run["serving"]
            assert served["version"] == run["champion_version"] == 1
            smoke = served["smoke_check"]
            assert smoke["version"] == 1
            assert smoke["p99_ms"] <= smoke["max_p99_ms"]
    if config.MONITORING and config.SERVING:
        latency = [r for r in second["monitoring"]["results"] if r["check"] == "latency"]
        assert [r["ok"] for r in latency] == [True], latency
    assert (tmp_path / ".local" / "mlflow.db").exists()

"""Each job-task command on its own, the way a job would chain them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import Names


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("world")
def test_stage_commands_chain(capsys: pytest.CaptureFixture[str], names: Names) -> None:
    trained = run_json(capsys, "train")
    version = str(trained["version"])

    validated = run_json(capsys, "validate", "--version", version)
    assert validated["passed"] is True
    assert validated["candidate_metrics"] == pytest.approx(trained["metrics"])

    promoted = run_json(capsys, "promote", "--version", version)
    assert (promoted["champion"], promoted["changed"]) == (trained["version"], True)
    assert run_json(capsys, "promote", "--version", version)["changed"] is False

    scored = run_json(capsys, "batch-inference")
    assert (scored["table"], scored["model_version"]) == (names.predictions, trained["version"])

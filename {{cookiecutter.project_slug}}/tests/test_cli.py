"""Each job-task command on its own, the way a job would chain them, and the promotion gate: a
verdict recorded by validate, required by promote."""

from __future__ import annotations

import json
import re
{%- if cookiecutter.include_serving == "yes" %}
from collections.abc import Callable, Iterator
{%- else %}
from collections.abc import Callable
{%- endif %}
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import cli, registry
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
{%- if cookiecutter.include_serving == "yes" %}
from {{ cookiecutter.package_name }}.serving.local import stop_local_endpoints
{%- endif %}
from {{ cookiecutter.package_name }}.settings import Thresholds


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must refuse: exit 1, the refusal as stderr's last line (after any
    library warnings, e.g. MLflow's while validate scores), no traceback. Returns the line."""
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"{argv[0]} refused: "), lines
    assert not [line for line in lines[:-1] if "refused" in line or "Traceback" in line], lines
    return lines[-1]


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


def test_promotion_needs_a_passing_verdict_against_the_current_champion(
    names: Names,
    thresholds: Thresholds,
    train_degraded: Callable[[], int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task_values: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        LocalRuntime, "set_task_value", lambda self, key, value: task_values.append((key, value))
    )
    client = MlflowClient()
    model = names.model

    def tags(version: int) -> dict[str, str]:
        return client.get_model_version(model, str(version)).tags

    first = str(run_json(capsys, "train")["version"])
    assert run_json(capsys, "validate", "--version", first)["passed"] is True
    assert tags(int(first))[registry.AGAINST_TAG] == registry.NO_CHAMPION
    run_json(capsys, "promote", "--version", first)

    degraded = train_degraded()
    line = refusal(capsys, "promote", "--version", str(degraded))
    assert "never validated" in line

    # The shell's path: a failed verdict exits 1 with one line; the verdict is recorded anyway.
    task_values.clear()
    line = refusal(capsys, "validate", "--version", str(degraded))
    assert line.startswith(f"validate refused: {model} version {degraded}: ")
    assert "does not beat champion" in line
    assert task_values == [("passed", False)]
    assert (tags(degraded)[registry.PASSED_TAG], tags(degraded)[registry.AGAINST_TAG]) == (
        "false",
        first,
    )
    assert tags(degraded)[registry.THRESHOLDS_TAG] == thresholds.digest
    # The job's path: the task succeeds and the `passed` condition decides.
    task_values.clear()
    job = run_json(capsys, "validate", "--version", str(degraded), "--exit-zero")
    assert job["passed"] is False
    assert task_values == [("passed", False)]

    line = refusal(capsys, "promote", "--version", str(degraded))
    assert f"failed validation against version {first}" in line
    # A pass against an earlier champion, or under other thresholds, is stale.
    for stale in (
        registry.Verdict(True, None, thresholds.digest),
        registry.Verdict(True, int(first), "0" * 12),
    ):
        registry.record_verdict(client, model, degraded, stale)
        assert "validate --version" in refusal(capsys, "promote", "--version", str(degraded))
    assert registry.champion_version(client, model) == int(first)

    forced = run_json(capsys, "promote", "--version", str(degraded), "--force")
    assert (forced["champion"], forced["previous"]) == (degraded, int(first))
    assert forced["forced"] is True
    assert tags(degraded)[registry.FORCED_TAG] == "true"


# What a person should never read in a command's output: Python's None, a list's or a dict's repr.
PYTHON_REPRS = re.compile(r"\bNone\b|\['|'\]|\{'|\[\]|\{\}")


def human(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> list[str]:
    """Run a command without --json: the lines it printed for a person (stdout), and on a
    refusal its one line on stderr (libraries' warnings there are not the command's words)."""
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local"]) == code, argv
    captured = capsys.readouterr()
    refusal = captured.err.strip().splitlines()[-1:] if code else []
    return captured.out.splitlines() + refusal


@pytest.fixture
{%- if cookiecutter.include_serving == "yes" %}
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: Any) -> Iterator[Path]:
    """A fresh project state (.local/) for commands that build their own runtime."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    stop_local_endpoints()
{%- else %}
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: Any) -> Path:
    """A fresh project state (.local/) for commands that build their own runtime."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
{%- endif %}


def test_human_output_reads_like_a_product(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """local-run, a second champion, rollback (and its refusal), and the per-stage commands
    print sentences: no None, no ['a', 'b'] or {'k': ...} reprs, no empty [] or {}."""
    printed = {"local-run": human(capsys, "local-run")}
    version = str(run_json(capsys, "train")["version"])
    human(capsys, "validate", "--version", version, "--exit-zero")
    printed["promote"] = human(capsys, "promote", "--version", version, "--force")
{%- if cookiecutter.include_serving == "yes" %}
    printed["deploy-endpoint"] = human(capsys, "deploy-endpoint")
{%- endif %}
    printed["rollback"] = human(capsys, "rollback")
    printed["rollback again"] = human(capsys, "rollback", code=1)
{%- if cookiecutter.include_monitoring == "yes" %}
    printed["monitor"] = human(capsys, "monitor")
{%- endif %}

    for command, lines in printed.items():
        assert lines, f"{command} printed nothing"
        for line in lines:
            assert not PYTHON_REPRS.search(line), f"{command}: {line!r}"
    assert "promote: @champion -> version 1 (the first champion)" in printed["local-run"]
    assert printed["rollback"] == [f"rollback: @champion -> version 1 (was {version})"]
    assert printed["rollback again"][-1].startswith("rollback refused: ")
{%- if cookiecutter.include_serving == "yes" %}
    [deployed] = [line for line in printed["local-run"] if line.startswith("deploy-endpoint: ")]
    assert " created, serving version 1 " in deployed
    # The second champion is news to the endpoint: updated, not created again.
    assert f" updated, serving version {version} " in printed["deploy-endpoint"][-1]
{%- endif %}
{%- if cookiecutter.include_monitoring == "yes" %}
    assert printed["monitor"][-1].startswith("monitor: ")
{%- endif %}


def test_json_leaves_out_empty_sections_at_any_depth() -> None:
    result = {
        "stage": {"version": 1, "tables": {}},
        "checks": {"violations": [], "results": [{"check": "a", "extra": {}}]},
        "nested": {"only": {"empty": {}}},
        "validated_against": None,
    }
    assert cli.without_empty_sections(result) == {
        "stage": {"version": 1},
        "checks": {"violations": [], "results": [{"check": "a"}]},
        "validated_against": None,
    }


@pytest.mark.parametrize("command", ["train", "validate"{% if cookiecutter.include_monitoring == "yes" %}, "monitor"{% endif %}])
def test_the_job_entry_point_refuses_commands_that_set_task_values(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Task values can be set only from Python notebooks: those commands run as notebook tasks.
    monkeypatch.setattr("sys.argv", ["{{ cookiecutter.project_slug }}-job", command])
    with pytest.raises(SystemExit, match="only a Python notebook task can set"):
        cli.job()

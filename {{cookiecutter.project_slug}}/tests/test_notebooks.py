{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
"""The notebooks: Databricks source format, a package-free install cell, then only package calls;
and, run cell by cell as a person runs them (here against the local runtime), they do what the CLI
does and set the job's task values: train (`version`), validate (`passed`){% if monitoring %},
monitor (`retrain`, `alert`, `violations`){% endif %}."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import registry
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
SEPARATOR = "\n# COMMAND ----------\n"
# What Databricks gives a notebook besides the package.
NOTEBOOK_GLOBALS = {"dbutils", "display", "print"}


def code_cells(name: str) -> list[str]:
    header, _, body = (NOTEBOOKS / f"{name}.py").read_text().partition("\n")
    assert header == "# Databricks notebook source"
    cells = []
    for cell in body.split(SEPARATOR):
        lines = cell.strip().splitlines()
        if any(line.startswith("# MAGIC") for line in lines):
            assert all(line.startswith("# MAGIC") for line in lines), "markdown mixed with code"
        else:
            cells.append(cell)
    return cells


@pytest.mark.parametrize("name", sorted(path.stem for path in NOTEBOOKS.glob("*.py")))
def test_cells_only_call_the_package(name: str) -> None:
    install, *cells = code_cells(name)
    # The install cell runs before the package is importable.
    assert "{{ cookiecutter.package_name }}" not in install
    assert install == code_cells("train")[0], "the same install cell in every notebook"
    tree = ast.parse("\n".join(cells))
    known = set(NOTEBOOK_GLOBALS)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] == "{{ cookiecutter.package_name }}", node.module
            known |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign | ast.Expr):
            for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                root = call.func
                while isinstance(root, ast.Attribute | ast.Call):
                    root = root.value if isinstance(root, ast.Attribute) else root.func
                assert isinstance(root, ast.Name), ast.unparse(call)
                assert root.id in known, ast.unparse(call)
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    known |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        else:
            raise AssertionError(f"logic in the notebook, not the package: {ast.unparse(node)}")


class FakeDbutils:
    """Widgets with the values a job would pass; a restart that must not be needed."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.widgets = self
        self.library = self

    def text(self, name: str, default: str) -> None:
        self.values.setdefault(name, default)

    def get(self, name: str) -> str:
        return self.values[name]

    def restartPython(self) -> None:  # Databricks' name
        raise AssertionError("the install cell reinstalled an installed package")


def run_notebook(
    name: str, widgets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Every code cell in order, as a job runs them; the install cell in the notebook's folder."""
    shown: list[Any] = []
    namespace: dict[str, Any] = {"dbutils": FakeDbutils(widgets), "display": shown.append}
    install, *cells = code_cells(name)
    here = Path.cwd()
    # The package is installed here at the project's version (pip install -e .): the cell finds
    # it and installs nothing, as on classic compute, where the task's library is the wheel.
    monkeypatch.chdir(NOTEBOOKS)
    exec(compile(install, f"{name}.py", "exec"), {"dbutils": namespace["dbutils"]})
    monkeypatch.chdir(here)
    for cell in cells:
        exec(compile(cell, f"{name}.py", "exec"), namespace)
    namespace["shown"] = shown
    return namespace


def test_notebooks_train_and_validate_like_the_cli(
    world: LocalRuntime, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    widgets = {"target": "dev", "model_name": names.model}
    trained = run_notebook("train", dict(widgets), monkeypatch)
    result = trained["result"]
    assert result.model_name == names.model
    assert result.metrics
    assert result.metrics == trained["fitted"].metrics
    assert trained["runtime"].task_values == {"version": result.version}
    challenger = MlflowClient().get_model_version_by_alias(names.model, "challenger")
    assert int(challenger.version) == result.version
    assert trained["shown"], "the training set is displayed"
    assert trained["shown"][0].count() > 0

    # The job passes the train task's value `version` to validate as a widget (text).
    validated = run_notebook("validate", {**widgets, "version": str(result.version)}, monkeypatch)
    verdict = validated["result"]
    assert verdict.candidate_version == result.version
    assert verdict.champion_version is None  # the first version: the limits decide
    assert validated["runtime"].task_values == {"passed": verdict.passed}
    tags = MlflowClient().get_model_version(names.model, str(result.version)).tags
    assert tags[registry.PASSED_TAG] == str(verdict.passed).lower()
{%- if monitoring %}

    # No champion yet: nothing to check, nothing to retrain, nothing to alert.
    monitored = run_notebook("monitor", {**widgets, "assets_dir": ""}, monkeypatch)
    assert monitored["verdict"].results == []
    assert monitored["runtime"].task_values == {"retrain": False, "alert": False, "violations": ""}
{%- endif %}

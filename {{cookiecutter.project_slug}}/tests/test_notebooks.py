"""The training notebook: Databricks source format, only package calls in its cells, and, run cell
by cell as a person runs it (here against the local runtime), it trains exactly as the CLI does."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "train.py"
SEPARATOR = "\n# COMMAND ----------\n"
# What Databricks gives a notebook besides the package.
NOTEBOOK_GLOBALS = {"dbutils", "display", "print"}


def code_cells() -> list[str]:
    header, _, body = NOTEBOOK.read_text().partition("\n")
    assert header == "# Databricks notebook source"
    cells = []
    for cell in body.split(SEPARATOR):
        lines = cell.strip().splitlines()
        if any(line.startswith("# MAGIC") for line in lines):
            assert all(line.startswith("# MAGIC") for line in lines), "markdown mixed with code"
        else:
            cells.append(cell)
    return cells


def test_cells_only_call_the_package() -> None:
    tree = ast.parse("\n".join(code_cells()))
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
    """Widgets with the values a job would pass, and a restart that does nothing."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.widgets = self
        self.library = self

    def text(self, name: str, default: str) -> None:
        self.values.setdefault(name, default)

    def get(self, name: str) -> str:
        return self.values[name]

    def restartPython(self) -> None:  # Databricks' name
        pass


def test_notebook_trains_like_the_cli(world: LocalRuntime, names: Names) -> None:
    shown: list[Any] = []
    namespace: dict[str, Any] = {
        "dbutils": FakeDbutils({"target": "dev", "model_name": names.model}),
        "display": shown.append,
    }
    for cell in code_cells():
        exec(compile(cell, str(NOTEBOOK), "exec"), namespace)
    result = namespace["result"]
    assert result.model_name == names.model
    assert result.metrics
    assert result.metrics == namespace["fitted"].metrics
    assert namespace["runtime"].task_values == {"version": result.version}
    challenger = MlflowClient().get_model_version_by_alias(names.model, "challenger")
    assert int(challenger.version) == result.version
    assert shown, "the training set is displayed"
    assert shown[0].count() > 0

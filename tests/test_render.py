"""Every variant renders to exactly the expected files, with no Jinja left, parseable config files,
lint-clean Python and well-formed Databricks notebooks."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

RUFF = Path(sys.executable).with_name("ruff")
LEFTOVER = re.compile(r"\{\{\s*cookiecutter|\{%|\{#")  # an opening marker means unrendered Jinja
NOTEBOOK_HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "\n# COMMAND ----------\n"
# The one notebook: the training task, run cell by cell by a person too. Every other stage task
# runs the package's wheel (test_wheel_tasks.py).
# The tasks a person reads (training) and those that set task values (validate, monitor): only
# Python notebooks can set them (docs.databricks.com/jobs/task-values.html).
NOTEBOOKS = ("train", "validate")
MONITORING_NOTEBOOKS = ("monitor",)
# Template-owned plumbing of every render.
PACKAGE_MODULES = (
    "__init__.py",
    "__main__.py",
    "cli.py",
    "config.py",
    "context.py",
    "contract.py",
    "data_quality.py",
    "errors.py",
    "feature_pipeline.py",
    "inference.py",
    "registry.py",
    "sample_data.py",
    "settings.py",
    "train.py",
    "validation.py",
    "runtime/__init__.py",
    "runtime/base.py",
    "runtime/local.py",
    "runtime/spark_session.py",
    "runtime/databricks.py",
    "runtime/doctor.py",
)
# Team-owned: the model (pyproject.toml's [tool.cruft] skip).
MODEL_MODULES = ("model/__init__.py", "model/data.py", "model/features.py", "model/estimator.py")
SERVING_MODULES = (
    "__init__.py",
    "backend.py",
    "commands.py",
    "databricks.py",
    "deploy.py",
    "endpoint.py",
    "local.py",
    "settings.py",
)
MONITORING_MODULES = (
    "__init__.py",
    "backend.py",
    "checks.py",
    "commands.py",
    "databricks.py",
    "local.py",
    "run.py",
    "settings.py",
    "statistics.py",
)
PROJECT_TESTS = (
    "conftest.py",
    "test_cli.py",
    "test_config.py",
    "test_data_quality.py",
    "test_doctor.py",
    "test_lifecycle.py",
    "test_local_run.py",
    "test_model.py",
    "test_notebooks.py",
    "test_refusals.py",
    "test_runtime.py",
    "test_settings.py",
)


def notebooks(answers):
    monitoring = answers["include_monitoring"] == "yes"
    return NOTEBOOKS + (MONITORING_NOTEBOOKS if monitoring else ())


def expected_files(answers):
    """The rendered tree, written from the answers independently of the template."""
    package = answers["package_name"]
    files = {
        "README.md",
        ".gitignore",
        "pyproject.toml",
        "databricks.yml",
        "resources/model.yml",
        "resources/training.yml",
        "resources/batch-inference.yml",
        "resources/rollback.yml",
    }
    files |= {f"notebooks/{name}.py" for name in notebooks(answers)}
    files |= {f"src/{package}/{module}" for module in PACKAGE_MODULES + MODEL_MODULES}
    files |= {f"tests/{module}" for module in PROJECT_TESTS}
    files.add("conf/thresholds.yml")
    feature_store = answers["include_feature_store"] == "yes"
    if feature_store:
        files |= {
            "resources/feature-engineering.yml",
            f"src/{package}/runtime/feature_engineering.py",
        }
    if answers["include_monitoring"] == "yes":
        files |= {
            "conf/monitoring.yml",
            "sql/access_audit.sql",
            "resources/monitoring.yml",
            "tests/monitoring/test_monitoring.py",
        }
        files |= {f"src/{package}/monitoring/{module}" for module in MONITORING_MODULES}
    if answers["include_serving"] == "yes":
        files |= {
            "conf/serving.yml",
            "resources/serving.yml",
            "tests/serving/test_serving.py",
        }
        files |= {f"src/{package}/serving/{module}" for module in SERVING_MODULES}
        if feature_store:
            files.add(f"src/{package}/serving/online_store.py")
    files |= {".pre-commit-config.yaml", ".yamllint.yml", "ci/template-drift.sh"}
    files |= {
        "github_actions": {
            f".github/workflows/{name}.yml"
            for name in ("validate", "deploy-staging", "deploy-prod", "rollback", "template-drift")
        },
        "gitlab": {".gitlab-ci.yml"},
        "azure_devops": {"azure-pipelines.yml"},
    }[answers["cicd_platform"]]
    return files


def rendered_files(project):
    return {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}


def test_exact_file_set(project, answers):
    assert rendered_files(project) == expected_files(answers)


def test_no_template_syntax_left(project):
    for name in rendered_files(project):
        assert not LEFTOVER.search(name), name
        text = (project / name).read_text()
        match = LEFTOVER.search(text)
        assert not match, f"{name}: {text[max(0, match.start() - 40) : match.end() + 40]!r}"


def test_config_files_parse(project):
    for path in project.rglob("*"):
        if path.suffix in (".yml", ".yaml"):
            assert yaml.safe_load(path.read_text()) is not None, path
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())


def test_python_is_lint_clean(project):
    # The project's own ruff settings (pyproject.toml) decide, as in its pre-commit and CI.
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run([str(RUFF), *command], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, f"ruff {command[0]}:\n{result.stdout}{result.stderr}"


def test_notebooks_are_databricks_source(project, answers):
    names = notebooks(answers)
    assert sorted(p.stem for p in (project / "notebooks").iterdir()) == sorted(names)
    for name in names:
        text = (project / "notebooks" / f"{name}.py").read_text()
        assert text.startswith(NOTEBOOK_HEADER + "\n"), name
        cells = text[len(NOTEBOOK_HEADER) :].split(CELL_SEPARATOR)
        assert len(cells) >= 2, f"{name}: no cells"
        for index, cell in enumerate(cells):
            lines = [line for line in cell.strip("\n").splitlines() if line.strip()]
            assert lines, f"{name}: empty cell {index}"
            magic = [line.startswith("# MAGIC") for line in lines]
            assert all(magic) or not any(magic), f"{name}: cell {index} mixes # MAGIC and code"
        assert "# MAGIC %md" in cells[0], f"{name}: first cell should say what the notebook does"
        package = answers["package_name"]
        assert re.search(rf"^from {package}(\.\w+)* import ", text, re.M), (
            f"{name}: no package call"
        )

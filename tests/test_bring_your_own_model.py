"""Bring your own model: the contract holds for models unlike the example.

Two models a team could write (tests/byom/: a breast-cancer classifier and a diabetes-progression
regressor, each with its own keys, label, source and feature tables, estimator, metrics and
primary metric) replace a render's model/ folder and tests/test_model.py. Nothing else of the
render changes, and the template-owned plumbing must still lint, pass the project's own tests and
run the whole local lifecycle twice, then refuse a rollback. Slow (minutes per model).

The two renders are the model folders of one monorepo (`repository_layout=monorepo`, the
skeleton from the template's monorepo/): its two models of different options, whose tests and
local runs are these. test_monorepo.py checks the repository around them.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import VARIANTS
from cookiecutter.main import cookiecutter
from test_generated_project import (
    GIT_IDENTITY,
    in_shared_venv,
    install,
    representative_variants,
)
from test_generated_project import project_python as project_python  # a fixture, shared
from variants import TEMPLATE

pytestmark = pytest.mark.slow

BYOM = Path(__file__).resolve().parent / "byom"
MODEL_FILES = ("__init__.py", "data.py", "features.py", "estimator.py")

# What each model declares: the metric names local-run reports, the metric a challenger must beat
# the champion on, the label table, and the label.
EXPECTED = {
    "classification": {
        "metrics": ["accuracy", "f1", "precision", "recall", "balanced_accuracy"],
        "primary_metric": "accuracy",
        "labels": "diagnoses",
        "label": "malignant",
        "keys": ["patient_id"],
    },
    "regression": {
        "metrics": ["rmse", "mae", "r2", "relative_rmse"],
        "primary_metric": "mae",
        "labels": "disease_progression",
        "label": "progression",
        "keys": ["visit_id"],
    },
}

DESCRIBE = """
import json
from {package}.model import MODEL

print(json.dumps({{
    "metrics": MODEL.metric_names,
    "primary_metric": MODEL.primary_metric,
    "labels": MODEL.labels.name,
    "label": MODEL.label,
    "keys": list(MODEL.keys),
}}))
"""

LABEL_ROWS = """
import pyarrow.parquet as pq
from {package}.config import Names
from {package}.model import MODEL

names = Names.resolve("dev")
print(pq.read_table(f".local/tables/{{names.catalog}}/{{names.schema}}/{{MODEL.labels.name}}").num_rows)
"""


def byom_variants() -> dict[str, str]:
    """The model kind -> the variant it replaces the model of (serving and monitoring on, the
    classifier with the feature store, the regressor without)."""
    chosen = {VARIANTS[name]["problem_type"]: name for name in representative_variants()}
    assert set(chosen) == set(EXPECTED), chosen
    by_kind = {kind: chosen[kind] for kind in EXPECTED}
    assert VARIANTS[by_kind["classification"]]["include_feature_store"] == "yes"
    assert VARIANTS[by_kind["regression"]]["include_feature_store"] == "no"
    return by_kind


BYOM_VARIANTS = byom_variants()
GIT_ENVIRONMENT = {**os.environ, **GIT_IDENTITY}


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def team_owned(path: str, package: str) -> bool:
    return path.startswith(f"src/{package}/model/") or path == "tests/test_model.py"


def swap_in(rendered: Path, project: Path, package: str, kind: str) -> None:
    """Copy the render, then replace its model/ and tests/test_model.py with the kind's."""
    shutil.copytree(rendered, project)
    model = project / "src" / package / "model"
    shutil.rmtree(model)
    (project / "tests" / "test_model.py").unlink()
    model.mkdir()
    for name in MODEL_FILES:
        shutil.copyfile(BYOM / kind / "model" / name, model / name)
    shutil.copyfile(BYOM / kind / "test_model.py", project / "tests" / "test_model.py")


def run(python: Path, project: Path, *arguments: str, check: bool = True):
    result = subprocess.run(
        [str(python), *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        env=in_shared_venv(project),
    )
    if check:
        assert result.returncode == 0, f"{arguments} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def monorepo(cookies_session, tmp_path_factory):
    """(the repository, {kind: (its pristine model folder render, the render's answers)}): the
    skeleton, and in its models/ each kind's render with the kind's model swapped in, committed
    on main. Cheap (renders and copies); each xdist worker builds its own."""
    root = Path(
        cookiecutter(
            str(TEMPLATE),
            directory="monorepo",
            no_input=True,
            output_dir=str(tmp_path_factory.mktemp("monorepo")),
        )
    )
    models = {}
    for kind, variant in BYOM_VARIANTS.items():
        result = cookies_session.bake(
            extra_context={**VARIANTS[variant], "repository_layout": "monorepo"}
        )
        assert result.exit_code == 0, f"{kind} failed to render: {result.exception!r}"
        rendered, answers = Path(result.project_path), dict(result.context)
        swap_in(rendered, root / "models" / rendered.name, answers["package_name"], kind)
        models[kind] = (rendered, answers)
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "models"]):
        subprocess.run(["git", *command], cwd=root, check=True, env=GIT_ENVIRONMENT)
    return root, models


@pytest.fixture(scope="session", params=list(BYOM_VARIANTS))
def byom(request, monorepo):
    """(kind, the render, its model folder in the monorepo with the kind's model swapped in, the
    render's answers)."""
    kind = request.param
    root, models = monorepo
    rendered, answers = models[kind]
    return kind, rendered, root / "models" / rendered.name, answers


@pytest.fixture(scope="session")
def installed_byom(byom, project_python):
    kind, _, project, answers = byom
    install(project_python, project)
    return kind, project, answers


def test_only_the_team_owned_files_change(byom):
    kind, rendered, project, answers = byom
    package = answers["package_name"]
    before, after = files(rendered), files(project)
    assert {p for p in before if not team_owned(p, package)} == {
        p for p in after if not team_owned(p, package)
    }
    for path in sorted(before):
        if not team_owned(path, package):
            assert (project / path).read_bytes() == (rendered / path).read_bytes(), path
    swapped = {p for p in after if team_owned(p, package)}
    assert swapped == {f"src/{package}/model/{name}" for name in MODEL_FILES} | {
        "tests/test_model.py"
    }
    assert (project / "tests" / "test_model.py").read_bytes() == (
        BYOM / kind / "test_model.py"
    ).read_bytes()


def test_the_model_is_clean_under_the_project_lint(byom):
    _, _, project, _ = byom
    ruff = Path(sys.executable).with_name("ruff")
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, "--no-cache", "."], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_project_declares_the_swapped_model(installed_byom, project_python):
    kind, project, answers = installed_byom
    script = DESCRIBE.format(package=answers["package_name"])
    declared = json.loads(run(project_python, project, "-c", script).stdout)
    assert declared == EXPECTED[kind]


# Project tests this run leaves out, each the same code path with any model: the local run is
# test_local_run_twice_then_rollback's (the same two runs, more checks); how the endpoint's server
# ends with its command and how the commands print are the plumbing's, which the quickstart of the
# same answers runs in full (test_generated_project.py); serving this model is the smoke check of
# both local runs.
LEFT_TO_OTHERS = (
    "test_local_run.py::test_local_run_twice",
    "serving/test_serving.py::test_the_local_endpoint_dies_with_the_command",
    "test_cli.py::test_human_output_reads_like_a_product",
)


def test_project_tests_pass_with_the_model(installed_byom, project_python):
    _, project, _ = installed_byom
    result = run(
        project_python,
        project,
        *("-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"),
        *(f"--deselect=tests/{test}" for test in LEFT_TO_OTHERS),
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary, summary
    for word in ("failed", "error", "skipped"):
        assert word not in summary, summary
    assert f" {len(LEFT_TO_OTHERS)} deselected" in summary, summary  # none was renamed away
    # The model's own tests ran (they skip only outside a project).
    listed = run(
        project_python, project, "-m", "pytest", "--collect-only", "-q", "tests/test_model.py"
    )
    assert listed.stdout.count("tests/test_model.py::") >= 3, listed.stdout


def test_local_run_twice_then_rollback(installed_byom, project_python):
    kind, project, answers = installed_byom
    package = answers["package_name"]
    expected = EXPECTED[kind]
    model = f"{answers['dev_catalog']}.{answers['uc_schema']}.{answers['model_name']}"
    shutil.rmtree(project / ".local", ignore_errors=True)  # the project's tests ran elsewhere

    first = json.loads(run(project_python, project, "-m", package, "local-run", "--json").stdout)
    assert first["model_name"] == model
    assert (first["version"], first["promoted"], first["champion_version"]) == (1, True, 1)
    assert first["validated_against"] is None
    assert list(first["metrics"]) == expected["metrics"]
    assert all(reason.endswith("(ok)") for reason in first["reasons"][:-1]), first["reasons"]
    label_rows = int(run(project_python, project, "-c", LABEL_ROWS.format(package=package)).stdout)
    assert first["rows_scored"] == label_rows == 10_000  # the default sample
    assert first["serving"]["smoke_check"]["version"] == 1
    checks = {r["check"]: r for r in first["monitoring"]["results"]}
    for check in ("model_quality", "data_drift", "prediction_drift", "data_quality"):
        assert checks[check]["ok"], checks[check]

    second = json.loads(run(project_python, project, "-m", package, "local-run", "--json").stdout)
    assert second["version"] == 2
    assert second["validated_against"] == 1
    # Same seed, same data, same estimator: identical metrics, and "not better" stays out.
    assert second["metrics"] == pytest.approx(first["metrics"], rel=1e-9)
    assert second["champion_metrics"] == pytest.approx(first["metrics"], rel=1e-9)
    assert second["promoted"] is False
    assert second["champion_version"] == 1
    primary = f"does not beat champion: {expected['primary_metric']} "
    assert any(reason.startswith(primary) for reason in second["reasons"]), second["reasons"]

    rollback = run(project_python, project, "-m", package, "rollback", check=False)
    assert rollback.returncode != 0
    lines = rollback.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rollback refused:"), rollback.stderr
    assert (project / ".local" / "mlflow.db").is_file()

"""Rendered projects really run: install them, run their own test suite, run the whole lifecycle
locally twice, and roll back. Representative variants cover feature store on/off and
classification/regression. Slow (minutes): installs pyspark, mlflow and scikit-learn once per
machine into build/project-venv."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import VARIANTS
from databricks.bundles.model_serving_endpoints import ModelServingEndpoint
from variants import TEMPLATE

pytestmark = pytest.mark.slow

VENV = TEMPLATE / "build" / "project-venv"


def representative_variants():
    wanted = [("yes", "classification"), ("no", "regression")]
    chosen = []
    for feature_store, problem_type in wanted:
        matches = [
            name
            for name, answers in VARIANTS.items()
            if answers["include_feature_store"] == feature_store
            and answers["problem_type"] == problem_type
            # Serving and monitoring on: the local run then exercises every stage.
            and answers["include_serving"] == answers["include_monitoring"] == "yes"
        ]
        assert matches, f"no serving variant with feature store {feature_store} and {problem_type}"
        chosen.append(matches[0])
    return chosen


@pytest.fixture(scope="session")
def project_python():
    """One virtual environment for every rendered project: their pinned dependencies are the
    same, and each project's package has its own name. Rebuilt when the pins change."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    return python


def install(python, project):
    pins = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    stamp = VENV / (
        "installed-" + hashlib.sha256(json.dumps(pins, sort_keys=True).encode()).hexdigest()
    )
    command = [str(python), "-m", "pip", "install", "-q", "-e", f"{project}[dev]"]
    if stamp.exists():
        command.insert(5, "--no-deps")  # the same pins are already installed
    subprocess.run(command, check=True)
    stamp.touch()


def run(python, project, *arguments, check=True):
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [str(python), *arguments], cwd=project, capture_output=True, text=True, env=environment
    )
    if check:
        assert result.returncode == 0, f"{arguments} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session", params=representative_variants())
def installed(request, baked, project_python, tmp_path_factory):
    rendered = Path(baked(request.param).project_path)
    project = tmp_path_factory.mktemp(request.param) / rendered.name
    shutil.copytree(rendered, project)
    install(project_python, project)
    return project, dict(baked(request.param).context)


def test_project_tests_pass(installed, project_python):
    project, _ = installed
    result = run(project_python, project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary


def test_local_run_twice_then_rollback(installed, project_python):
    project, answers = installed
    package = answers["package_name"]
    model = f"{answers['dev_catalog']}.{answers['uc_schema']}.{answers['model_name']}"

    first = json.loads(run(project_python, project, "-m", package, "local-run", "--json").stdout)
    assert first["model_name"] == model
    assert first["version"] == 1 and first["promoted"] is True
    assert first["champion_version"] == 1
    assert first["reasons"] and first["metrics"]

    second = json.loads(run(project_python, project, "-m", package, "local-run", "--json").stdout)
    assert second["version"] == 2
    assert second["validated_against"] == 1
    assert second["champion_version"] == (2 if second["promoted"] else 1)
    assert second["reasons"]

    rollback = run(project_python, project, "-m", package, "rollback", check=False)
    if second["promoted"]:
        assert rollback.returncode == 0, rollback.stderr
        assert "version 1" in rollback.stdout
    else:
        assert rollback.returncode != 0
        assert "refused" in rollback.stderr
    assert (project / ".local" / "mlflow.db").is_file()


SPECS = """
import json
from {package}.config import CATALOGS, Names
from {package}.model import MODEL
from {package}.serving.endpoint import endpoint_spec
from {package}.serving.settings import load_config
from {package}.settings import load_thresholds

cfg = load_config(load_thresholds(MODEL))
print(json.dumps({{
    target: endpoint_spec(Names.resolve(target), target, 3, cfg, "r", "d", "a@example.com").as_dict()
    for target in CATALOGS
}}))
"""


def test_endpoint_spec_is_a_valid_bundle_endpoint(installed, project_python, bundle_schema):
    """The request serving.py sends, built by the package's own code, is exactly what the bundle
    schema and the databricks-bundles model accept for a model_serving_endpoints resource."""
    project, answers = installed
    specs = json.loads(
        run(project_python, project, "-c", SPECS.format(package=answers["package_name"])).stdout
    )
    assert set(specs) == {"dev", "staging", "prod"}
    document = project / "endpoint-specs.json"
    document.write_text(json.dumps({"resources": {"model_serving_endpoints": specs}}))
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--schemafile", str(bundle_schema), str(document)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for target, spec in specs.items():
        endpoint = ModelServingEndpoint.from_dict(spec)
        [entity] = endpoint.config.served_entities
        assert entity.entity_version == "3"
        assert endpoint.config.traffic_config.routes[0].served_entity_name == entity.name
        assert (
            endpoint.ai_gateway.inference_table_config.catalog_name == answers[f"{target}_catalog"]
        )

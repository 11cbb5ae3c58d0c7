"""Rendered projects really run, the way their README says: the quickstart block of the rendered
README runs as written (git init, a new venv, pip install, doctor, local-run twice, rollback, the
project's own pytest and pre-commit) for representative variants (the default answers, and no
feature store with regression). Slow (minutes): each quickstart installs its own environment
(about 650 MB from the pip cache). `project_python`/`install` give the other slow tests one shared
venv in build/project-venv."""

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import VARIANTS
from databricks.bundles.model_serving_endpoints import ModelServingEndpoint
from filelock import FileLock
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


# pytest-xdist workers share the venv: one creates it or installs into it at a time.
VENV_LOCK = FileLock(str(VENV) + ".lock")


@pytest.fixture(scope="session")
def project_python():
    """One virtual environment for every rendered project: their pinned dependencies are the
    same. Rebuilt when the pins change. Renders may share a package name, so whoever runs one
    runs it with `in_shared_venv` (the editable install is whichever came last)."""
    python = VENV / "bin" / "python"
    with VENV_LOCK:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True
            )
    return python


def in_shared_venv(project):
    """The environment to run `project` with in the shared venv: its own src/ first on the path,
    whichever render of the same package name was installed last."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(project / "src")}


def install(python, project):
    pins = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    stamp = VENV / (
        "installed-" + hashlib.sha256(json.dumps(pins, sort_keys=True).encode()).hexdigest()
    )
    command = [str(python), "-m", "pip", "install", "-q", "-e", f"{project}[dev]"]
    with VENV_LOCK:
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


def shell_blocks(readme, heading):
    """The commands of the ```bash blocks in the README section under `heading` (up to the next
    heading), one per line, as written (comments included: bash reads them)."""
    lines = readme.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(heading)))
    commands, in_block = [], False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            in_block = line == "```bash" if not in_block else False
        elif in_block and line.strip():
            commands.append(line)
        elif line.startswith("#"):
            break
    return commands


def run_as_written(commands, folder, transcript, environment=None):
    """Runs `commands` in one bash, in order, as a user pasting them would (state such as an
    activated venv carries over); stops at the first failure. Returns, per command, its exit
    code, seconds, stdout and stderr."""
    transcript.mkdir(parents=True, exist_ok=True)
    script = ["cd " + shlex.quote(str(folder))]
    for index, command in enumerate(commands):
        out, err = transcript / f"{index}.out", transcript / f"{index}.err"
        # The command on its own line: a trailing `# comment` must not swallow the braces.
        script += [
            "start=$EPOCHREALTIME",
            "{",
            command,
            f"}} > {shlex.quote(str(out))} 2> {shlex.quote(str(err))}",
            "code=$?",
            f'echo "{index} $code $start $EPOCHREALTIME" >> {transcript / "status"}',
            '[ "$code" = 0 ] || exit "$code"',
        ]
    subprocess.run(["bash", "-c", "\n".join(script)], env=environment, check=False)
    results = []
    for line in (transcript / "status").read_text().splitlines():
        index, code, start, end = line.split()
        results.append(
            {
                "command": commands[int(index)],
                "code": int(code),
                "seconds": round(float(end.replace(",", ".")) - float(start.replace(",", ".")), 1),
                "stdout": (transcript / f"{index}.out").read_text(),
                "stderr": (transcript / f"{index}.err").read_text(),
            }
        )
    return results


@pytest.fixture(scope="session", params=representative_variants())
def quickstart(request, baked, tmp_path_factory):
    """The rendered README's quickstart, run as written in a copy of the project that sits inside
    another git repository (as a render in the template's build/ does), with its own new venv."""
    rendered = Path(baked(request.param).project_path)
    outer = tmp_path_factory.mktemp(request.param)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    project = outer / "build" / rendered.name
    shutil.copytree(rendered, project)
    commands = shell_blocks((project / "README.md").read_text(), "## Quickstart on a laptop")
    environment = {
        **{key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"},
        # The template's own tools (its .venv) must not stand in for the project's.
        "PATH": os.pathsep.join(
            entry
            for entry in os.environ["PATH"].split(os.pathsep)
            if not entry.startswith(str(TEMPLATE / ".venv"))
        ),
        "PYTHONUNBUFFERED": "1",
        "PRE_COMMIT_HOME": str(TEMPLATE / "build" / "pre-commit-cache"),
        **GIT_IDENTITY,
    }
    results = run_as_written(commands, project, outer / "transcript", environment)
    timings = TEMPLATE / "build" / "quickstart-timings"
    timings.mkdir(parents=True, exist_ok=True)
    (timings / f"{request.param}.json").write_text(
        json.dumps([{key: r[key] for key in ("command", "code", "seconds")} for r in results])
    )
    return project, dict(baked(request.param).context), commands, results


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "uc-mlops tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "uc-mlops tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def test_quickstart_runs_as_written(quickstart):
    """Every command of the README's quickstart succeeds, in order, ending with the rollback the
    README promises and the project's own tests and linters."""
    project, answers, commands, results = quickstart
    failed = [r for r in results if r["code"] != 0]
    assert not failed, "{command} exited {code}:\n{stdout}\n{stderr}".format(**failed[0])
    assert [r["command"] for r in results] == commands
    package = answers["package_name"]

    def output_of(words):
        [result] = [r for r in results if r["command"].split("#")[0].split() == words]
        return result["stdout"]

    model = f"{answers['dev_catalog']}.{answers['uc_schema']}.{answers['model_name']}"
    second = json.loads(output_of(["python", "-m", package, "local-run", "--json"]))
    assert second["model_name"] == model
    assert second["version"] == 2 and second["validated_against"] == 1
    assert second["promoted"] is True and second["champion_version"] == 2, second["reasons"]
    assert "version 1" in output_of(["python", "-m", package, "rollback"])
    summary = output_of(["pytest", "-q"]).strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    # The project is its own repository, not a folder of the one around it.
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=project, capture_output=True, text=True
    )
    assert Path(top.stdout.strip()) == project
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


def test_endpoint_spec_is_a_valid_bundle_endpoint(quickstart, bundle_schema):
    """The request serving.py sends, built by the package's own code, is exactly what the bundle
    schema and the databricks-bundles model accept for a model_serving_endpoints resource."""
    project, answers, _, _ = quickstart
    python = project / ".venv" / "bin" / "python"
    specs = json.loads(
        run(python, project, "-c", SPECS.format(package=answers["package_name"])).stdout
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

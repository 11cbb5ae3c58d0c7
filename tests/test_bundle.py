"""The rendered Asset Bundle: valid against the official schema and the typed models, and consistent
in the ways no schema can check (references, notebooks, targets, grants)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from databricks.bundles.experiments import MlflowExperiment
from databricks.bundles.jobs import Job
from databricks.bundles.quality_monitors import QualityMonitor
from databricks.bundles.registered_models import RegisteredModel
from databricks.bundles.schemas import Schema

MODELS = {
    "jobs": Job,
    "schemas": Schema,
    "registered_models": RegisteredModel,
    "experiments": MlflowExperiment,
    "quality_monitors": QualityMonitor,
}
TOP_LEVEL_KEYS = {
    "bundle",
    "include",
    "variables",
    "permissions",
    "targets",
    "resources",
    "workspace",
    "artifacts",
    "sync",
    "run_as",
    "presets",
    "experimental",
    "python",
    "scripts",
}
READER_PRIVILEGES = {"USE_CATALOG", "USE_SCHEMA", "SELECT", "EXECUTE"}
REFERENCE = re.compile(r"\$\{([^}]+)\}")
TASK_VALUE = re.compile(r"\{\{tasks\.([A-Za-z0-9_-]+)\.values\.[A-Za-z0-9_]+\}\}")


def bundle_files(project):
    files = [project / "databricks.yml"]
    root = yaml.safe_load(files[0].read_text())
    for pattern in root["include"]:
        files += sorted(project.glob(pattern))
    return files


def load(project):
    """databricks.yml merged with its includes, as the CLI sees it before target overrides."""
    documents = {path: yaml.safe_load(path.read_text()) for path in bundle_files(project)}
    merged = {}
    for path, document in documents.items():
        for key, value in document.items():
            if key == "resources":
                for kind, items in value.items():
                    existing = merged.setdefault("resources", {}).setdefault(kind, {})
                    clash = existing.keys() & items.keys()
                    assert not clash, f"{path.name} redefines {kind} {sorted(clash)}"
                    existing.update(items)
            else:
                assert key not in merged, f"{path.name} repeats top-level key {key}"
                merged[key] = value
    return merged


def strings(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, (*path, str(index)))
    elif isinstance(node, str):
        yield path, node


def test_bundle_validates_against_schema(project, bundle_schema, tmp_path):
    merged = tmp_path / "merged-bundle.json"
    merged.write_text(json.dumps(load(project)))
    instances = [str(path) for path in bundle_files(project)] + [str(merged)]
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--schemafile", str(bundle_schema), *instances],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_top_level_keys_are_known(project):
    # The schema accepts unknown top-level keys; a typo there would be silently ignored.
    for path in bundle_files(project):
        unknown = set(yaml.safe_load(path.read_text())) - TOP_LEVEL_KEYS
        assert not unknown, f"{path.name}: unknown top-level keys {unknown}"


def test_resources_load_with_typed_models(project):
    resources = load(project)["resources"]
    assert set(resources) <= set(MODELS), f"no typed model for {set(resources) - set(MODELS)}"
    for kind, items in resources.items():
        for key, body in items.items():
            try:
                MODELS[kind].from_dict(body)
            except Exception as error:  # the models raise ValueError/TypeError with the field
                pytest.fail(f"{kind}.{key}: {error}")


def test_references_resolve(project):
    bundle = load(project)
    declared = set(bundle["variables"])
    resources = bundle["resources"]
    for path, text in strings(bundle):
        for reference in REFERENCE.findall(text):
            parts = reference.split(".")
            where = ".".join(path)
            if parts[0] == "var":
                assert parts[1] in declared, f"{where}: ${{{reference}}} is not declared"
            elif parts[0] == "resources":
                assert parts[2] in resources.get(parts[1], {}), f"{where}: ${{{reference}}} missing"
            else:
                assert parts[0] in {"bundle", "workspace"}, f"{where}: unexpected ${{{reference}}}"
    for name, target in bundle["targets"].items():
        overridden = set(target.get("variables", {}))
        assert overridden <= declared, f"target {name} sets undeclared {overridden - declared}"
        missing = {
            v for v, spec in bundle["variables"].items() if "default" not in spec
        } - overridden
        assert not missing, f"target {name} leaves {missing} without a value"


def test_jobs_are_consistent(project):
    for key, job in load(project)["resources"]["jobs"].items():
        tasks = {task["task_key"]: task for task in job["tasks"]}
        assert len(tasks) == len(job["tasks"]), f"job {key} repeats a task key"
        upstream = {}
        for task_key, task in tasks.items():
            parents = {dependency["task_key"] for dependency in task.get("depends_on", [])}
            assert parents <= set(tasks), (
                f"{key}.{task_key} depends on unknown {parents - set(tasks)}"
            )
            upstream[task_key] = parents | set().union(*(upstream[p] for p in parents))
            for dependency in task.get("depends_on", []):
                if "outcome" in dependency:
                    assert "condition_task" in tasks[dependency["task_key"]]
            if "notebook_task" in task:
                notebook = (
                    project / "resources" / task["notebook_task"]["notebook_path"]
                ).resolve()
                assert notebook.is_file(), f"{key}.{task_key}: {notebook} does not exist"
            for _, text in strings(task):
                for producer in TASK_VALUE.findall(text):
                    assert producer in upstream[task_key], (
                        f"{key}.{task_key} reads {producer} early"
                    )
            if "job_cluster_key" in task:
                clusters = {cluster["job_cluster_key"] for cluster in job.get("job_clusters", [])}
                assert task["job_cluster_key"] in clusters


def test_targets_use_the_answers(project, answers):
    bundle = load(project)
    constraint = re.fullmatch(
        r">= (\d+)\.\d+\.\d+, < (\d+)\.0\.0", bundle["bundle"]["databricks_cli_version"]
    )
    assert constraint, "a range from CI's version up to the next major, not one exact version"
    assert int(constraint.group(2)) == int(constraint.group(1)) + 1
    assert bundle["bundle"]["name"] == answers["project_slug"]
    assert bundle["targets"]["dev"]["mode"] == "development"
    for target in ("dev", "staging", "prod"):
        spec = bundle["targets"][target]
        assert spec["variables"]["catalog"] == answers[f"{target}_catalog"]
        host = answers[f"{target}_workspace_host"].split("?")[0].rstrip("/")
        assert spec["workspace"]["host"] == host
        if target != "dev":
            assert spec["mode"] == "production"
            assert spec["workspace"]["root_path"].startswith("/Workspace/")
    defaults = {name: spec.get("default") for name, spec in bundle["variables"].items()}
    for name in ("model_name", "reader_group", "developer_group", "alert_email"):
        assert defaults[name] == answers[name]
    assert defaults["schema"] == answers["uc_schema"]
    assert defaults["model_description"] == answers["description"]


def test_grants_give_readers_only_reading(project):
    resources = load(project)["resources"]
    granted = {}
    for kind in ("schemas", "registered_models"):
        for key, body in resources[kind].items():
            for grant in body.get("grants", []):
                privileges = grant["privileges"]
                if isinstance(privileges, list):
                    assert "ALL_PRIVILEGES" not in privileges, f"{kind}.{key}"
                granted.setdefault(grant["principal"], set()).update(
                    privileges if isinstance(privileges, list) else {privileges}
                )
    assert granted["${var.reader_group}"] <= READER_PRIVILEGES
    assert "EXECUTE" in granted["${var.reader_group}"]
    assert "${var.developer_group}" in granted
    bundle = load(project)
    # Developers: reading in staging and prod (the default), building in dev; never everything.
    assert set(bundle["variables"]["developer_schema_privileges"]["default"]) <= READER_PRIVILEGES
    for name, target in bundle["targets"].items():
        privileges = target.get("variables", {}).get("developer_schema_privileges", [])
        assert "ALL_PRIVILEGES" not in privileges
        assert not privileges or name == "dev", f"{name} widens the developers' privileges"
    # Workspace permissions: developers view every job; they manage only in dev.
    assert bundle["permissions"] == [{"group_name": "${var.developer_group}", "level": "CAN_VIEW"}]
    for name, target in bundle["targets"].items():
        levels = {p["level"] for p in target.get("permissions", [])}
        assert levels <= ({"CAN_MANAGE"} if name == "dev" else set()), name


def test_experiment_parent_is_created_by_the_deploy(project):
    # MLflow refuses an experiment whose parent folder does not exist; the bundle's root folder
    # exists once the deploy has uploaded the files, before any resource is created.
    name = load(project)["resources"]["experiments"]["training"]["name"]
    parent, _, leaf = name.rpartition("/")
    assert parent == "${workspace.root_path}", name
    assert leaf and "/" not in leaf


# Where an unattended promotion could be forced: jobs, their notebooks, CI.
UNATTENDED = ("resources", "notebooks", ".github", ".gitlab-ci.yml", "azure-pipelines.yml")
FORCE = re.compile(r"--force(?![\w-])")


def test_jobs_and_ci_never_force_a_promotion(project):
    """`promote --force` skips the validation gate; it is for a human, never a job or CI."""
    for name in UNATTENDED:
        root = project / name
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                assert not FORCE.search(line), f"{path.relative_to(project)}:{number}: {line}"


def test_training_job_branches_on_the_verdict(project):
    """The validate notebook succeeds on a failed verdict (it calls validate_and_record, which
    records the verdict and sets the task value, not the CLI command, which exits 1), so the
    `passed` condition, not a task failure, keeps promote from running; promote then checks the
    verdict itself."""
    tasks = {t["task_key"]: t for t in load(project)["resources"]["jobs"]["training"]["tasks"]}
    notebook = project / "resources" / tasks["validate"]["notebook_task"]["notebook_path"]
    text = notebook.resolve().read_text()
    assert "validate_and_record(" in text and "cmd_validate" not in text
    condition = tasks["passed"]["condition_task"]
    assert (condition["left"], condition["right"]) == ("{{tasks.validate.values.passed}}", "true")
    assert tasks["promote"]["depends_on"] == [{"task_key": "passed", "outcome": "true"}]

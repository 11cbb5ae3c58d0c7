"""The jobs run the package's wheel, built once: one whl artifact, every stage task but the
training notebook a python_wheel_task on an entry point the rendered pyproject declares, the wheel
reaching each task (serverless: the job's environment; classic: the task's library), and every
command line a task passes accepted by the rendered CLI's own argument parser.

The parser is the real one (`cli.build_parser`), imported in a subprocess where the heavy runtime
dependencies (Spark, MLflow, scikit-learn, pandas, the Databricks SDKs), which this environment
lacks, are stand-in modules: building the parser touches none of them, and a stand-in cannot
accept an argument the parser would refuse.
"""

import ast
import json
import re
import subprocess
import sys
import tomllib

from test_bundle import load

WHEEL = "../dist/*.whl"  # from a resources/*.yml file
STAGE_KINDS = {"python_wheel_task", "notebook_task"}
FLOW_KINDS = {"condition_task", "run_job_task"}
NOTEBOOK_GLOBALS = {"dbutils", "display", "print"}
DYNAMIC = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")

PARSE = r"""
import importlib.abc, importlib.machinery, json, sys, types

STUBBED = {"mlflow", "pyspark", "sklearn", "pandas", "numpy", "databricks"}


class Anything:
    def __init__(self, *args, **kwargs): pass
    def __call__(self, *args, **kwargs): return Anything()
    def __getattr__(self, name): return Anything()
    def __getitem__(self, key): return Anything()
    def __mro_entries__(self, bases): return (object,)


class Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = Stub(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, StubFinder())
sys.path.insert(0, sys.argv[1])
cli = __import__(sys.argv[2] + ".cli", fromlist=["build_parser"])
parser = cli.build_parser()
refused = {}
for key, argv in json.loads(sys.stdin.read()).items():
    try:
        parser.parse_args(argv)
    except SystemExit as error:
        refused[key] = f"exit {error.code}"
print(json.dumps(refused))
"""


def stage_kind(task):
    kinds = {key for key in task if key.endswith("_task")}
    assert len(kinds) == 1, f"{task['task_key']}: {kinds}"
    return kinds.pop()


def jobs(project):
    return load(project)["resources"]["jobs"]


def wheel_tasks(project):
    for job_key, job in jobs(project).items():
        for task in job["tasks"]:
            if "python_wheel_task" in task:
                yield job_key, job, task


def pyproject(project):
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]


def test_one_artifact_builds_the_wheel(project):
    artifacts = load(project)["artifacts"]
    assert len(artifacts) == 1, artifacts
    [artifact] = artifacts.values()
    assert artifact["type"] == "whl"
    assert "pip wheel" in artifact["build"]
    assert "--wheel-dir dist" in artifact["build"]
    # The tasks' ../dist/*.whl (relative to resources/) is the artifact's dist/ folder.
    assert (project / "resources" / WHEEL).parent.resolve() == (
        project / artifact["path"] / "dist"
    ).resolve()
    # dist/ is a build output: never committed, never synced as a bundle file.
    assert "dist/" in (project / ".gitignore").read_text().splitlines()


def test_stage_tasks_run_the_wheel(project, answers):
    meta = pyproject(project)
    scripts = meta["scripts"]
    package = answers["package_name"]
    notebooks = []
    for job_key, job in jobs(project).items():
        for task in job["tasks"]:
            kind = stage_kind(task)
            assert kind in STAGE_KINDS | FLOW_KINDS, f"{job_key}.{task['task_key']}: {kind}"
            if kind == "notebook_task":
                notebooks.append((job_key, task["task_key"], task[kind]["notebook_path"]))
            elif kind == "python_wheel_task":
                wheel = task[kind]
                assert wheel["package_name"] == meta["name"]
                assert scripts[wheel["entry_point"]] == f"{package}.cli:job"
                assert "named_parameters" not in wheel
    # Only training is a notebook: the one a person runs, cell by cell.
    assert notebooks == [("training", "train", "../notebooks/train.py")]
    # The entry point the tasks call exists and raises on a refusal (a return code is ignored).
    cli = ast.parse((project / "src" / package / "cli.py").read_text())
    job = next(n for n in cli.body if isinstance(n, ast.FunctionDef) and n.name == "job")
    assert "run(sys.argv[1:])" in ast.unparse(job)


def test_the_wheel_reaches_every_wheel_task(project, answers):
    serverless = answers["compute"] == "serverless"
    for job_key, job in jobs(project).items():
        environments = {env["environment_key"]: env["spec"] for env in job.get("environments", [])}
        if serverless:
            assert environments, f"{job_key}: no environment"
            for spec in environments.values():
                assert WHEEL in spec["dependencies"], job_key
                assert spec["environment_version"]
        else:
            assert not environments, f"{job_key}: environments are for serverless"
        for task in job["tasks"]:
            where = f"{job_key}.{task['task_key']}"
            if "python_wheel_task" in task:
                if serverless:
                    assert task["environment_key"] in environments, where
                    assert "libraries" not in task, where
                else:
                    assert task["libraries"] == [{"whl": WHEEL}], where
                    assert task["job_cluster_key"] == "ml", where
            elif "notebook_task" in task:
                # A notebook installs the project itself (notebook tasks take no job environment).
                assert "environment_key" not in task, where
                assert ("job_cluster_key" in task) == (not serverless), where


def resolve(text, job, target="dev"):
    """A task parameter as a run sees it: job parameters with their defaults, task values with a
    value of their kind."""
    parameters = {p["name"]: str(p["default"]) for p in job.get("parameters", [])}
    task_values = {"version": "3", "violations": '["data_drift: PSI 0.31 > 0.2"]'}

    def value(match):
        reference = match.group(1)
        if reference.startswith("job.parameters."):
            default = parameters[reference.removeprefix("job.parameters.")]
            default = default.replace("${bundle.target}", target)
            return re.sub(r"\$\{[^}]+\}", "x", default)
        if reference.startswith("tasks."):
            return task_values[reference.rsplit(".", 1)[1]]
        raise AssertionError(f"unknown reference {reference}")

    return DYNAMIC.sub(value, text)


def test_every_wheel_task_command_line_parses(project, answers):
    command_lines = {}
    for job_key, job, task in wheel_tasks(project):
        parameters = task["python_wheel_task"]["parameters"]
        for name in re.findall(r"\{\{job\.parameters\.(\w+)\}\}", " ".join(parameters)):
            assert name in {p["name"] for p in job["parameters"]}, f"{job_key}: no {name}"
        key = f"{job_key}.{task['task_key']}"
        command_lines[key] = [resolve(p, job) for p in parameters]
        assert command_lines[key][1:3] == ["--runtime", "databricks"], key
    assert command_lines
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(project / "src"), answers["package_name"]],
        input=json.dumps(command_lines),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}, result.stderr


def test_training_notebook_cells_call_only_the_package(project, answers):
    text = (project / "notebooks" / "train.py").read_text()
    cells = text.split("\n# COMMAND ----------\n")
    code = [c for c in cells if not c.lstrip().startswith(("# MAGIC", "# Databricks"))]
    known = set(NOTEBOOK_GLOBALS)
    for node in ast.parse("\n".join(code)).body:
        if isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] == answers["package_name"], node.module
            known |= {alias.asname or alias.name for alias in node.names}
            continue
        assert isinstance(node, ast.Assign | ast.Expr), (
            f"logic in the notebook: {ast.unparse(node)}"
        )
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            root = call.func
            while isinstance(root, ast.Attribute | ast.Call):
                root = root.value if isinstance(root, ast.Attribute) else root.func
            assert isinstance(root, ast.Name), ast.unparse(call)
            assert root.id in known, f"not a package call: {ast.unparse(call)}"
        if isinstance(node, ast.Assign):
            known |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    # The steps of train.train, in order, and the hand-over that sets the task value `version`.
    calls = [
        call.func.id
        for node in ast.parse("\n".join(code)).body
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    ]
    steps = [c for c in calls if c in ("build_training_sets", "fit", "log_and_register")]
    assert steps == ["build_training_sets", "fit", "log_and_register"]
    assert "hand_over" in calls
    train = ast.parse((project / "src" / answers["package_name"] / "train.py").read_text())
    body = next(n for n in train.body if isinstance(n, ast.FunctionDef) and n.name == "train")
    inner = [
        n.func.id
        for n in ast.walk(body)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    ]
    assert {"build_training_sets", "fit", "log_and_register"} <= set(inner)

"""The jobs run the package's wheel, built once: one whl artifact; every task that sets a task
value a Python notebook (dbutils.jobs.taskValues.set works only there:
docs.databricks.com/jobs/task-values.html) and every other stage task a python_wheel_task on an
entry point the rendered pyproject declares; the wheel reaching each task (serverless: the job's
environment for wheel tasks, the notebook's own install cell for notebooks; classic: the task's
library); every command line a task passes accepted by the rendered CLI's own argument parser, and
no wheel task running a command that sets task values.

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
task_values = {name: list(command.task_values) for name, command in cli.COMMANDS.items()}
print(json.dumps({"refused": refused, "task_values": task_values}))
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


def referenced_task_values(job):
    """{task key: names of its task values} that the job's conditions and parameters read."""
    read = {}
    for reference in DYNAMIC.findall(json.dumps(job["tasks"])):
        if reference.startswith("tasks.") and ".values." in reference:
            key, name = reference.removeprefix("tasks.").split(".values.")
            read.setdefault(key, set()).add(name)
    return read


def test_tasks_that_set_task_values_are_notebooks(project, answers):
    meta = pyproject(project)
    scripts = meta["scripts"]
    package = answers["package_name"]
    setters = 0
    for job_key, job in jobs(project).items():
        read = referenced_task_values(job)
        tasks = {task["task_key"]: task for task in job["tasks"]}
        assert set(read) <= set(tasks), f"{job_key}: values of unknown tasks {read}"
        for task_key, task in tasks.items():
            kind = stage_kind(task)
            where = f"{job_key}.{task_key}"
            assert kind in STAGE_KINDS | FLOW_KINDS, f"{where}: {kind}"
            if task_key in read:
                # Only a Python notebook can set a task value.
                assert kind == "notebook_task", f"{where} sets {read[task_key]}: {kind}"
                setters += 1
            elif kind in STAGE_KINDS:
                assert kind == "python_wheel_task", f"{where}: sets no task value, so a wheel task"
            if kind == "notebook_task":
                assert task[kind]["notebook_path"] == f"../notebooks/{task_key}.py", where
                assert (project / "resources" / task[kind]["notebook_path"]).is_file(), where
            elif kind == "python_wheel_task":
                wheel = task[kind]
                assert wheel["package_name"] == meta["name"]
                assert scripts[wheel["entry_point"]] == f"{package}.cli:job"
                assert "named_parameters" not in wheel
    assert setters >= 2, "train and validate set task values"
    # The entry point the wheel tasks call raises on a refusal (a return code is ignored) and
    # refuses a command that sets task values.
    cli = ast.parse((project / "src" / package / "cli.py").read_text())
    job = next(n for n in cli.body if isinstance(n, ast.FunctionDef) and n.name == "job")
    assert "run(argv)" in ast.unparse(job)
    assert "task_values" in ast.unparse(job)
    assert "docs.databricks.com/jobs/task-values.html" in ast.get_docstring(job)


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
                assert "environment_key" not in task, where
                if serverless:
                    # The notebook installs the project itself (no job environment for notebooks).
                    assert "job_cluster_key" not in task and "libraries" not in task, where
                else:
                    # The wheel as the task's library: the notebook's install cell does nothing.
                    assert task["libraries"] == [{"whl": WHEEL}], where
                    assert task["job_cluster_key"] == "ml", where


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
    parsed = json.loads(result.stdout)
    assert parsed["refused"] == {}, result.stderr
    task_values = parsed["task_values"]
    for key, argv in command_lines.items():
        # The job entry point would refuse it: no wheel task sets a task value.
        assert not task_values[argv[0]], f"{key}: {argv[0]} sets {task_values[argv[0]]}"
    for job_key, job in jobs(project).items():
        for task_key, names in referenced_task_values(job).items():
            # A notebook task sets the values its command declares.
            assert names <= set(task_values[task_key]), f"{job_key}.{task_key}: {names}"


def notebook_cells(path):
    """The install cell (the first code cell) and the other code cells of a notebook."""
    cells = path.read_text().split("\n# COMMAND ----------\n")
    code = [c for c in cells if not c.lstrip().startswith(("# MAGIC", "# Databricks"))]
    return code[0], code[1:]


def test_notebooks_install_the_project_only_when_it_is_missing(project, answers):
    paths = sorted((project / "notebooks").glob("*.py"))
    install_cells = {notebook_cells(path)[0] for path in paths}
    assert len(install_cells) == 1, "one install cell, the same in every notebook"
    [cell] = install_cells
    tree = ast.parse(cell)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    # Runs before the package is importable: the standard library only.
    assert answers["package_name"] not in imported
    assert imported <= set(sys.stdlib_module_names), imported
    assert f'importlib.metadata.version("{answers["project_slug"]}")' in cell
    # Installs and restarts only under the version check.
    [check] = [node for node in tree.body if isinstance(node, ast.If)]
    assert "pip" in ast.unparse(check.body) and "restartPython" in ast.unparse(check.body)
    assert "restartPython" not in ast.unparse([n for n in tree.body if n is not check])
    assert "docs.databricks.com" in cell


def test_notebook_cells_call_only_the_package(project, answers):
    for path in sorted((project / "notebooks").glob("*.py")):
        _, code = notebook_cells(path)
        known = set(NOTEBOOK_GLOBALS)
        for node in ast.parse("\n".join(code)).body:
            if isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] == answers["package_name"], node.module
                known |= {alias.asname or alias.name for alias in node.names}
                continue
            assert isinstance(node, ast.Assign | ast.Expr), (
                f"{path.name}: logic in the notebook: {ast.unparse(node)}"
            )
            for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                root = call.func
                while isinstance(root, ast.Attribute | ast.Call):
                    root = root.value if isinstance(root, ast.Attribute) else root.func
                assert isinstance(root, ast.Name), ast.unparse(call)
                assert root.id in known, f"{path.name}: not a package call: {ast.unparse(call)}"
            if isinstance(node, ast.Assign):
                known |= {
                    n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)
                }


def calls(path):
    _, code = notebook_cells(path)
    return [
        call.func.id
        for node in ast.parse("\n".join(code)).body
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    ]


def test_notebooks_set_task_values_through_the_package(project, answers):
    package = project / "src" / answers["package_name"]
    # The steps of train.train, in order, and the hand-over that sets the task value `version`.
    train_calls = calls(project / "notebooks" / "train.py")
    steps = [c for c in train_calls if c in ("build_training_sets", "fit", "log_and_register")]
    assert steps == ["build_training_sets", "fit", "log_and_register"]
    assert "hand_over" in train_calls
    train = ast.parse((package / "train.py").read_text())
    body = next(n for n in train.body if isinstance(n, ast.FunctionDef) and n.name == "train")
    inner = [
        n.func.id
        for n in ast.walk(body)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    ]
    assert {"build_training_sets", "fit", "log_and_register"} <= set(inner)
    # validate and monitor call the function the CLI's command calls.
    cli = (package / "cli.py").read_text()
    assert "validate_and_record" in calls(project / "notebooks" / "validate.py")
    assert "validation.validate_and_record(" in cli
    if answers["include_monitoring"] == "yes":
        assert "monitor_and_hand_over" in calls(project / "notebooks" / "monitor.py")
        commands = (package / "monitoring" / "commands.py").read_text()
        assert "monitor_and_hand_over(" in commands

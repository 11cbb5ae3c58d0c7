"""The rendered jobs' task graphs, evaluated per target under the Jobs documentation's rules, so a
task that must run does run on a real workspace.

The rules, from https://docs.databricks.com/aws/en/jobs/run-if and
https://docs.databricks.com/aws/en/jobs/conditional-tasks (If/else: .../jobs/tasks/if-else):
- A condition task succeeds with an outcome, "true" or "false"; a dependency that names the
  other outcome is not taken.
- run_if ALL_SUCCESS (default): every dependency ran and succeeded; AT_LEAST_ONE_SUCCESS: one
  succeeded; NONE_FAILED: none failed and at least one ran; ALL_DONE: all finished, whatever their
  result; AT_LEAST_ONE_FAILED / ALL_FAILED: one / all failed. An unmet success condition marks the
  task "upstream failed"; an unmet failure condition marks it "excluded".
- Excluded tasks are skipped and count as succeeded; but if all of a task's dependencies are
  excluded, the task is excluded too, whatever its run_if.
A dependency on a branch that was not taken is treated as excluded (the docs say the tasks of
that branch are excluded; how a task mixing a taken and a not-taken edge behaves is the doubt the
NONE_FAILED choice in the rendered jobs is robust to: it runs under either reading).
"""

import re

import pytest
import yaml
from test_bundle import load

SUCCESS, FAILED, EXCLUDED, UPSTREAM_FAILED = "success", "failed", "excluded", "upstream failed"
TARGETS = ("dev", "staging", "prod")
REFERENCE = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


def target_variables(project, target):
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    values = {name: spec.get("default") for name, spec in bundle["variables"].items()}
    values.update(bundle["targets"][target].get("variables") or {})
    return values


def job_parameters(job, variables):
    parameters = {}
    for parameter in job.get("parameters", []):
        default = str(parameter["default"])
        parameters[parameter["name"]] = re.sub(
            r"\$\{var\.(\w+)\}", lambda m: str(variables[m.group(1)]), default
        )
    return parameters


def resolve(operand, parameters, task_values):
    def value(match):
        reference = match.group(1)
        if reference.startswith("job.parameters."):
            return parameters[reference.removeprefix("job.parameters.")]
        if reference.startswith("tasks."):
            _, task, _, key = reference.split(".")
            return str(task_values[task][key]).lower()
        raise AssertionError(f"unknown reference {reference}")

    return REFERENCE.sub(value, str(operand))


def compare(op, left, right):
    if op == "EQUAL_TO":
        return left == right  # string comparison, as the docs say for == and !=
    if op == "NOT_EQUAL":
        return left != right
    numeric = {
        "GREATER_THAN": float.__gt__,
        "GREATER_THAN_OR_EQUAL": float.__ge__,
        "LESS_THAN": float.__lt__,
        "LESS_THAN_OR_EQUAL": float.__le__,
    }
    return numeric[op](float(left), float(right))


def run(job, parameters, task_values=None, failing=()):
    """Each task's final state (and each condition task's outcome) for one run of the job."""
    task_values = task_values or {}
    tasks = {task["task_key"]: task for task in job["tasks"]}
    states, outcomes = {}, {}

    def state_of(key):
        if key in states:
            return states[key]
        task = tasks[key]
        edges = []
        for dependency in task.get("depends_on", []):
            upstream = state_of(dependency["task_key"])
            wanted = dependency.get("outcome")
            if upstream == SUCCESS and wanted is not None:
                upstream = SUCCESS if outcomes[dependency["task_key"]] == wanted else EXCLUDED
            edges.append(upstream)
        if edges and all(edge == EXCLUDED for edge in edges):
            states[key] = EXCLUDED
            return EXCLUDED
        ran = [edge for edge in edges if edge in (SUCCESS, FAILED)]
        succeeded = [edge for edge in edges if edge in (SUCCESS, EXCLUDED)]
        failed = [edge for edge in edges if edge in (FAILED, UPSTREAM_FAILED)]
        rule = task.get("run_if", "ALL_SUCCESS")
        allowed = {
            "ALL_SUCCESS": len(succeeded) == len(edges),
            "AT_LEAST_ONE_SUCCESS": bool([e for e in edges if e == SUCCESS]),
            "NONE_FAILED": not failed and bool(ran),
            "ALL_DONE": True,
            "AT_LEAST_ONE_FAILED": bool(failed),
            "ALL_FAILED": bool(edges) and len(failed) == len(edges),
        }[rule]
        if not allowed:
            refused = EXCLUDED if rule in ("AT_LEAST_ONE_FAILED", "ALL_FAILED") else UPSTREAM_FAILED
            states[key] = refused
            return refused
        if "condition_task" in task:
            condition = task["condition_task"]
            left = resolve(condition["left"], parameters, task_values)
            right = resolve(condition["right"], parameters, task_values)
            outcomes[key] = "true" if compare(condition["op"], left, right) else "false"
        states[key] = FAILED if key in failing else SUCCESS
        return states[key]

    for key in tasks:
        state_of(key)
    return states


def ran(states):
    return {key for key, state in states.items() if state in (SUCCESS, FAILED)}


def test_run_if_rules_by_example():
    """The evaluator itself, on the cases the docs spell out."""
    job = {
        "tasks": [
            {"task_key": "c", "condition_task": {"op": "EQUAL_TO", "left": "a", "right": "b"}},
            {"task_key": "yes", "depends_on": [{"task_key": "c", "outcome": "true"}]},
            {"task_key": "after_yes", "depends_on": [{"task_key": "yes"}], "run_if": "NONE_FAILED"},
            {"task_key": "no", "depends_on": [{"task_key": "c", "outcome": "false"}]},
            {"task_key": "cleanup", "depends_on": [{"task_key": "no"}], "run_if": "ALL_DONE"},
            {"task_key": "on_failure", "depends_on": [{"task_key": "no"}], "run_if": "ALL_FAILED"},
        ]
    }
    states = run(job, {})
    # Every dependency excluded: excluded, whatever the run_if (NONE_FAILED included).
    assert states["yes"] == states["after_yes"] == EXCLUDED
    assert (states["no"], states["cleanup"], states["on_failure"]) == (SUCCESS, SUCCESS, EXCLUDED)
    failed = run(job, {}, failing={"no"})
    assert (failed["cleanup"], failed["on_failure"]) == (SUCCESS, SUCCESS)


@pytest.fixture(params=TARGETS)
def target(request):
    return request.param


def test_every_intended_task_runs_in_every_target(project, answers, target):
    jobs = load(project)["resources"]["jobs"]
    variables = target_variables(project, target)
    sample = str(variables["sample_data"]) == "true"
    assert sample == (target != "prod"), "prod reads real source tables; dev and staging a sample"
    feature_store = answers["include_feature_store"] == "yes"
    feature_job = jobs["feature_engineering" if feature_store else "training"]
    states = run(
        feature_job, job_parameters(feature_job, variables), {"validate": {"passed": True}}
    )
    assert "features" in ran(states), f"{target}: features never runs: {states}"
    assert ("sample" in ran(states)) == sample, f"{target}: {states}"
    # A failed sample stops the features: they would be computed from stale or missing sources.
    if sample:
        failed = run(feature_job, job_parameters(feature_job, variables), failing={"sample"})
        assert failed["features"] == UPSTREAM_FAILED

    training = jobs["training"]
    parameters = job_parameters(training, variables)
    for passed in (True, False):
        states = run(training, parameters, {"validate": {"passed": passed}})
        assert {"features", "train", "validate"} <= ran(states), f"{target}: {states}"
        assert ("promote" in ran(states)) == passed, f"{target}, passed={passed}: {states}"
        if answers["include_serving"] == "yes":
            assert ("serve" in ran(states)) == passed
    # A failed validation (an error, not a verdict) never promotes.
    broken = run(training, parameters, {"validate": {"passed": True}}, failing={"validate"})
    assert broken["promote"] in (UPSTREAM_FAILED, EXCLUDED)

    # Jobs without branches run every task.
    for name, job in jobs.items():
        if name not in ("training", "feature_engineering", "monitoring"):
            states = run(job, job_parameters(job, variables))
            assert ran(states) == {t["task_key"] for t in job["tasks"]}, f"{name}: {states}"
    if "monitoring" in jobs:
        job = jobs["monitoring"]
        states = run(
            job, job_parameters(job, variables), {"monitor": {"retrain": True, "alert": True}}
        )
        assert {"monitor", "retrain", "alert"} <= ran(states)
        quiet = run(
            job, job_parameters(job, variables), {"monitor": {"retrain": False, "alert": False}}
        )
        assert "monitor" in ran(quiet) and not {"retrain", "alert"} & ran(quiet)

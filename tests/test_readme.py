"""The template README's set-up runs as written, in a copy of this checkout (a git repository, as
a clone is), with this checkout's installed tooling linked in. `scripts/test` is the one command
not run here: it is this suite, which `.ci/run` runs on a clean clone. The rendered README's
quickstart is run by test_generated_project."""

import os
import subprocess

import pytest
import yaml
from test_generated_project import GIT_IDENTITY, run_as_written, shell_blocks
from variants import TEMPLATE, copy_working_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    copy = tmp_path_factory.mktemp("checkout") / "uc-mlops"
    copy_working_tree(copy)
    environment = {**os.environ, **GIT_IDENTITY}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout"]):
        subprocess.run(["git", *command], cwd=copy, env=environment, check=True)
    # The tooling scripts/bootstrap would install (it finds it installed and up to date).
    for tools in (".venv", ".tools"):
        (copy / tools).symlink_to(TEMPLATE / tools)
    return copy


def test_set_up_runs_as_written(checkout, tmp_path):
    commands = shell_blocks((checkout / "README.md").read_text(), "## Set-up")
    assert [c.split("#")[0].strip() for c in commands] == [
        "scripts/render",
        "scripts/test",
        "scripts/render cloud=aws compute=classic",
    ]
    assert "scripts/test" in (checkout / ".ci" / "run").read_text()
    to_run = [c for c in commands if not c.startswith("scripts/test")]
    results = run_as_written(to_run, checkout, tmp_path / "transcript")
    failed = [r for r in results if r["code"] != 0]
    assert not failed, "{command} exited {code}:\n{stdout}\n{stderr}".format(**failed[0])
    assert len(results) == len(to_run)

    project = checkout / "build" / "churn-model"
    first, again = results
    # Each render says where the project is, as a path from where it was run.
    assert "Created build/churn-model (Churn Model)." in first["stdout"]
    assert "cd build/churn-model" in first["stdout"]
    assert "Created build/churn-model (Churn Model)." in again["stdout"]
    # The second render replaced the first: aws hosts, job clusters, nothing of azure left.
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    hosts = {target["workspace"]["host"] for target in bundle["targets"].values()}
    assert all(host.endswith(".cloud.databricks.com") for host in hosts), hosts
    assert "job_clusters" in (project / "resources" / "training.yml").read_text()
    assert sorted(p.name for p in (checkout / "build").iterdir()) == ["churn-model"]

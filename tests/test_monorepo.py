"""Many models in one repository: the skeleton (the template's monorepo/, rendered with
`--directory monorepo`) and model folders rendered into its models/ with
`repository_layout=monorepo`.

The repository is test_bring_your_own_model's: two model folders of different options, whose own
tests and local runs that module runs. Here: what a model folder drops, the refusal of a second
folder with a name already taken, the pull requests and pushes the CI would see (the workflow's
own selection step, run on real git history), the linters of the workflows and of the folders,
and `cruft update` of the skeleton and of each folder.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter
from test_bring_your_own_model import BYOM_VARIANTS
from test_bring_your_own_model import monorepo as monorepo  # a fixture, shared
from test_ci import (
    azure_script,
    azure_stages,
    azure_steps,
    gitlab_local,
    load_yaml,
    run_actionlint,
    run_zizmor,
)
from test_generated_project import GIT_IDENTITY, shell_blocks
from test_upgrade import (
    assert_clean_update,
    checked,
    cruft,
    make_template_repo,
    previous_release,
)
from variants import TEMPLATE, copy_working_tree

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
# What the skeleton's CI files and pre-commit hooks take over from a model folder.
STANDALONE_ONLY = {".pre-commit-config.yaml", ".yamllint.yml"}
# What the tools the tests run leave behind in a folder (git ignores them).
LEFT_BY_TOOLS = (".ruff_cache", "__pycache__", ".pytest_cache")


def listed(root):
    """The files under `root`, relative, without what the tools leave behind."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not set(p.relative_to(root).parts) & set(LEFT_BY_TOOLS)
    }


def against_standalone(folder, standalone):
    """(files only the standalone render has, files only the folder has, shared files whose
    bytes differ)."""
    ours, theirs = listed(folder), listed(standalone)
    differ = {
        p for p in ours & theirs if (folder / p).read_bytes() != (standalone / p).read_bytes()
    }
    return theirs - ours, ours - theirs, differ


def standalone_render(answers, where):
    """A standalone render of a model folder's answers."""
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(where))
    )


def run_hooks(command, cwd):
    """A CI step that runs the repository's pre-commit hooks, in bash as the runners start it,
    with pre-commit from the template's tooling and the hook environments the suite caches. It
    must pass; its output is returned."""
    environment = {
        **os.environ,
        "PATH": f"{PRE_COMMIT.parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(TEMPLATE / "build" / "pre-commit-cache"),
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 0, command + result.stdout[-3000:] + result.stderr[-2000:]
    assert "Failed" not in result.stdout, result.stdout
    return result.stdout


def hook_passed(output, name):
    """Whether the one line of hook `name` in pre-commit's output says Passed."""
    [line] = [line for line in output.splitlines() if line.startswith(name)]
    return line.endswith("Passed")


def git(*arguments, cwd):
    return subprocess.run(
        ["git", *arguments],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY},
    ).stdout


def workflow(root, name):
    return yaml.safe_load((root / ".github" / "workflows" / name).read_text())


def step(job, name):
    [found] = [s for s in job["steps"] if s.get("name") == name]
    return found


def select(root, event, base, ref_name):
    """The `changes` job's selection step of models.yml, run as GitHub would run it (bash, its
    env with the expressions for this event resolved, GITHUB_OUTPUT): its outputs."""
    models_yml = workflow(root, "models.yml")
    job = models_yml["jobs"]["changes"]
    selection = step(job, "Select")
    output = root.parent / f"github-output-{event}"
    output.write_text("")
    environment = {
        **os.environ,
        **{k: str(v) for k, v in models_yml["env"].items()},
        "BASE": base,
        "BRANCH": ref_name,
        "GITHUB_OUTPUT": str(output),
    }
    assert set(selection["env"]) == {"BASE", "BRANCH"}  # the two resolved above
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", selection["run"]],
        cwd=root,
        check=True,
        capture_output=True,
        env=environment,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return [entry["folder"] for entry in json.loads(outputs["models"])], outputs["target"]


def change_on_branch(root, branch, files):
    """A branch off main with `files` appended to; returns (base, head) commits."""
    git("checkout", "-q", "-b", branch, "main", cwd=root)
    for path, text in files.items():
        with (root / path).open("a") as appended:
            appended.write(text)
        git("add", "--", path, cwd=root)
    git("commit", "-q", "-m", branch, cwd=root)
    return git("rev-parse", "main", cwd=root).strip(), git("rev-parse", "HEAD", cwd=root).strip()


def folders(root):
    return sorted(f"models/{p.parent.name}" for p in (root / "models").glob("*/databricks.yml"))


def test_a_model_folder_is_a_standalone_render_without_its_ci(monorepo, baked):
    """The layout changes what CI and lint files a folder has and its README; nothing else."""
    _, models = monorepo
    for kind, (rendered, answers) in models.items():
        standalone = Path(baked(BYOM_VARIANTS[kind]).project_path)
        assert answers["cicd_platform"] == "github_actions"

        dropped, added, differ = against_standalone(rendered, standalone)
        assert {p for p in dropped if not p.startswith(".github/")} == STANDALONE_ONLY
        assert any(p.startswith(".github/workflows/") for p in dropped)
        assert added == set()
        assert differ == {"README.md"}, differ


def test_each_model_folder_is_its_own_bundle(monorepo):
    root, _ = monorepo
    bundles = [yaml.safe_load((root / f / "databricks.yml").read_text()) for f in folders(root)]
    names = [b["bundle"]["name"] for b in bundles]
    models = [b["variables"]["model_name"]["default"] for b in bundles]
    assert len(bundles) == 2 and len(set(names)) == len(set(models)) == 2, (names, models)


@pytest.mark.parametrize("taken", ["model_name", "project_slug"])
def test_a_second_folder_with_a_taken_name_is_refused(monorepo, taken, tmp_path):
    """One line naming the question, the value and the folder that has it; nothing written. A
    taken slug is a taken folder name too (cookiecutter refuses that itself), so the bundle name
    is checked beside a folder its team renamed."""
    root, models = monorepo
    _, answers = models["classification"]
    taken_by = root / "models" / answers["project_slug"]
    wanted = {"project_name": "Another Model", "repository_layout": "monorepo"}
    wanted[taken] = answers[taken]
    output = root / "models"
    if taken == "project_slug":
        output = tmp_path / "models"
        (output / "renamed").mkdir(parents=True)
        shutil.copyfile(taken_by / "databricks.yml", output / "renamed" / "databricks.yml")
        taken_by = output / "renamed"
    before = sorted(p.name for p in output.iterdir())
    result = subprocess.run(
        [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "-o", str(output)]
        + [f"{key}={value}" for key, value in wanted.items()],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    error, rerun = result.stderr.strip().splitlines()
    assert error.startswith(f"ERROR: {taken}={json.dumps(answers[taken])} "), error
    assert f"models/{taken_by.name} already" in error, error
    assert rerun.startswith("Run again with your answers: cookiecutter --no-input"), rerun
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in output.iterdir()) == before


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            "cicd_platform=github_actions",
            'ERROR: cicd_platform="github_actions" is not this repository\'s ("gitlab", in'
            " ci/model-answers.json) (expected cicd_platform=gitlab, or cruft create"
            " --extra-context-file ci/model-answers.json)",
        ),
        (
            "release_branch=prod",
            'ERROR: release_branch="prod" is not this repository\'s ("release", in'
            " ci/model-answers.json) (expected release_branch=release, or cruft create"
            " --extra-context-file ci/model-answers.json)",
        ),
    ],
    ids=["platform", "branch"],
)
def test_a_folder_that_does_not_share_the_repositorys_answers_is_refused(
    gitlab_monorepo, answer, line
):
    root = gitlab_monorepo
    before = sorted(p.name for p in (root / "models").iterdir())
    result = subprocess.run(
        [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "-o", "models"]
        + ["repository_layout=monorepo", "cicd_platform=gitlab", answer, "project_name=Third"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == line, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (root / "models").iterdir()) == before


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"{churn}/conf/thresholds.yml": "# tuned\n"}, ["{churn}"]),
        ({"{fraud}/tests/test_model.py": "# more\n"}, ["{fraud}"]),
        ({"{churn}/README.md": "x\n", "{fraud}/README.md": "y\n"}, ["{churn}", "{fraud}"]),
        ({"ci/changed_models.py": "# shared\n"}, ["{churn}", "{fraud}"]),
        ({".pre-commit-config.yaml": "# shared\n"}, ["{churn}", "{fraud}"]),
        ({"README.md": "Only the root README.\n"}, []),
    ],
    ids=["one-model", "the-other-model", "both-models", "shared-ci", "shared-lint", "root-readme"],
)
def test_a_pull_request_selects_only_the_folders_it_touches(monorepo, files, expected, request):
    """The pull request event as models.yml sees it: base = the target branch's commit."""
    root, _ = monorepo
    churn, fraud = folders(root)
    fill = {"{churn}": churn, "{fraud}": fraud}

    def filled(text):
        for key, value in fill.items():
            text = text.replace(key, value)
        return text

    branch = request.node.callspec.id
    base, _ = change_on_branch(root, branch, {filled(p): t for p, t in files.items()})
    try:
        selected, target = select(root, "pull_request", base, f"{branch}/merge")
    finally:
        git("checkout", "-q", "main", cwd=root)
    assert selected == [filled(e) for e in expected]
    assert target == "staging"


def test_pushes_deploy_the_touched_folders_to_their_target(monorepo):
    """A merge to main deploys what it changed to staging; the release branch, to prod; a new
    branch (no previous commit) deploys every folder."""
    root, _ = monorepo
    churn, fraud = folders(root)
    models_yml = workflow(root, "models.yml")
    release = models_yml["env"]["RELEASE_BRANCH"]
    base, head = change_on_branch(root, "push", {f"{fraud}/conf/thresholds.yml": "# tuned\n"})
    try:
        assert select(root, "push", base, "main") == ([fraud], "staging")
        assert select(root, "push", base, release) == ([fraud], "prod")
        assert select(root, "push", "0" * 40, release) == ([churn, fraud], "prod")
    finally:
        git("checkout", "-q", "main", cwd=root)
    deploy = models_yml["jobs"]["deploy"]
    # One deployment per model and target, shared with the rollback of that model and target.
    group = deploy["concurrency"]["group"]
    assert "matrix.model.folder" in group and "needs.changes.outputs.target" in group
    rollback_group = workflow(root, "rollback.yml")["concurrency"]["group"]
    assert rollback_group == "deploy-models/${{ inputs.model }}-${{ inputs.target }}"
    assert group == "deploy-${{ matrix.model.folder }}-${{ needs.changes.outputs.target }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    # Each job signs in to its folder's own workspace (databricks.yml), whatever the others use.
    rollback_job = workflow(root, "rollback.yml")["jobs"]["rollback"]
    for job in (deploy, rollback_job, models_yml["jobs"]["validate"]):
        assert "DATABRICKS_HOST" not in job["env"], job["name"]
        assert job["env"]["DATABRICKS_AUTH_TYPE"] == "github-oidc"


def test_the_skeleton_workflows_pass_actionlint_and_zizmor(monorepo):
    root, _ = monorepo
    result, checked = run_actionlint(root)
    assert result.returncode == 0 and checked == 3, result.stdout + result.stderr
    result, findings = run_zizmor(root / ".github" / "workflows")
    assert findings == [], [(f["ident"], f["determinations"]["severity"]) for f in findings]
    assert result.returncode == 0, result.stderr


def test_the_skeleton_has_the_hooks_of_a_model_folder(monorepo, baked):
    """The root's pre-commit hooks replace those of a (GitHub Actions) model folder: the same
    hooks with the same pins, and the same yamllint settings."""
    root, _ = monorepo
    standalone = Path(baked(BYOM_VARIANTS["classification"]).project_path)
    for name in STANDALONE_ONLY:
        assert yaml.safe_load((root / name).read_text()) == yaml.safe_load(
            (standalone / name).read_text()
        ), name


@pytest.mark.slow
def test_pre_commit_runs_on_one_folder_as_ci_runs_it(monorepo):
    """The validate job's lint step, in a model folder, with the repository's hooks."""
    root, _ = monorepo
    validate = workflow(root, "models.yml")["jobs"]["validate"]
    command = step(validate, "pre-commit on this folder's files")["run"]
    for folder in folders(root):
        assert hook_passed(run_hooks(command, root / folder), "ruff check")
    # The last line of a folder's quickstart runs the same hooks from inside the folder.
    folder = root / folders(root)[0]
    quickstart = shell_blocks((folder / "README.md").read_text(), "## Quickstart on a laptop")
    assert quickstart[-1].startswith("pre-commit run --files $(git ls-files .)"), quickstart[-1]
    assert hook_passed(run_hooks(quickstart[-1], folder), "ruff check")
    repository = step(
        workflow(root, "models.yml")["jobs"]["repository"],
        "Every hook on the files outside models/",
    )
    assert hook_passed(run_hooks(repository["run"], root), "zizmor")


def upgrade_templates(tmp_path, tmp_path_factory):
    """(template repository, old commit, new commit, how the old one was chosen): the previous
    release and the working tree when that release had the monorepo; until then (0.2.0 is the
    first with it) the working tree and a next commit that changes one file of the skeleton and
    one of a model folder."""
    base, how = previous_release()
    released = subprocess.run(
        ["git", "cat-file", "-e", f"{base}:monorepo/cookiecutter.json"], cwd=TEMPLATE
    )
    if released.returncode == 0:
        template, old, new = make_template_repo(tmp_path_factory, checked(base, how))
        return template, old, new, how
    template = tmp_path / "template"
    template.mkdir()
    git("init", "-q", "-b", "main", cwd=template)
    copy_working_tree(template)
    git("add", "-A", cwd=template)
    git("commit", "-q", "-m", "this release", cwd=template)
    old = git("rev-parse", "HEAD", cwd=template).strip()
    for path in (
        template / "monorepo" / "{{cookiecutter.repo_slug}}" / "ci" / "template-drift.sh",
        template / "{{cookiecutter.project_slug}}" / "ci" / "template-drift.sh",
    ):
        path.write_text(path.read_text() + "# next release\n")
    git("commit", "-q", "-am", "next release", cwd=template)
    return template, old, git("rev-parse", "HEAD", cwd=template).strip(), "the working tree"


def changed_paths(root):
    return sorted(line[3:] for line in git("status", "--porcelain", cwd=root).splitlines())


@pytest.mark.parametrize("platform", ["github_actions", "gitlab", "azure_devops"])
def test_cruft_updates_the_skeleton_and_each_folder_on_its_own(
    tmp_path, tmp_path_factory, platform
):
    """Created with cruft at the older commit, upgraded to the newer: the root's update leaves
    models/ alone, each folder's update changes that folder only, nothing conflicts, each is then
    up to date, and a team's edit of its model survives."""
    template, old, new, how = upgrade_templates(tmp_path, tmp_path_factory)
    work = tmp_path / "work"
    work.mkdir()
    created = cruft(
        "create",
        str(template),
        "--checkout",
        old,
        "--no-input",
        "--directory",
        "monorepo",
        "--extra-context",
        json.dumps({"cicd_platform": platform}),
        cwd=work,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    (root,) = work.iterdir()
    # The first folder as the skeleton's README adds one (its shared answers from a file, when
    # the older commit has that file), the second with other options.
    shared = root / "ci" / "model-answers.json"
    if shared.is_file():
        first = ["--extra-context-file", "ci/model-answers.json"]
        shared_answers = json.loads(shared.read_text())
    else:
        shared_answers = {"repository_layout": "monorepo", "cicd_platform": platform}
        first = ["--extra-context", json.dumps(shared_answers)]
    second = {"project_name": "Fraud Detector", "problem_type": "regression"}
    second["include_feature_store"] = "no"
    for extra in (first, ["--extra-context", json.dumps({**shared_answers, **second})]):
        created = cruft(
            "create",
            str(template),
            "--checkout",
            old,
            "--no-input",
            "--output-dir",
            "models",
            *extra,
            cwd=root,
        )
        assert created.returncode == 0, created.stdout + created.stderr
    team_file = root / "models/fraud-detector/src/fraud_detector/model/features.py"
    team_line = "\n# Team edit: a new feature next sprint.\n"
    team_file.write_text(team_file.read_text() + team_line)
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "two models", cwd=root)

    updated = cruft("update", "--checkout", new, "--skip-apply-ask", cwd=root)
    assert updated.returncode == 0, how + updated.stdout + updated.stderr
    changed = changed_paths(root)
    assert ".cruft.json" in changed, changed
    assert not [path for path in changed if path.startswith("models/")], changed
    synthetic = how == "the working tree"  # whose next commit changes these two files
    assert not synthetic or "ci/template-drift.sh" in changed, changed
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "skeleton update", cwd=root)
    for folder in ("churn-model", "fraud-detector"):
        updated = cruft(
            "update", "--checkout", new, "--skip-apply-ask", cwd=root / "models" / folder
        )
        assert updated.returncode == 0, how + updated.stdout + updated.stderr
        changed = changed_paths(root)
        assert f"models/{folder}/.cruft.json" in changed, changed
        assert all(path.startswith(f"models/{folder}/") for path in changed), changed
        assert not synthetic or f"models/{folder}/ci/template-drift.sh" in changed, changed
        git("add", "-A", cwd=root)
        git("commit", "-q", "-m", f"{folder} update", cwd=root)
    assert_clean_update(root)
    assert team_file.read_text().endswith(team_line)
    for where in (root, root / "models" / "churn-model", root / "models" / "fraud-detector"):
        assert cruft("check", "--checkout", new, cwd=where).returncode == 0, where

    # The weekly drift check of the whole repository, as its CI runs it: each folder's script,
    # then the skeleton's, against the template's release branch.
    git("branch", "-f", "release", new, cwd=template)
    environment = {**os.environ, "PATH": f"{PRE_COMMIT.parent}{os.pathsep}{os.environ['PATH']}"}
    drift = subprocess.run(
        ["sh", "ci/template-drift.sh"], cwd=root, capture_output=True, text=True, env=environment
    )
    assert drift.returncode == 0, drift.stdout + drift.stderr
    for heading in ("== models/churn-model", "== models/fraud-detector", "== repository skeleton"):
        assert heading in drift.stdout, drift.stdout
    assert drift.stdout.count(f"comparing this project with {template} at 'release'") == 3
    # A newer release: every part is behind it, and the check fails.
    notes = template / "CHANGELOG.md"
    notes.write_text(notes.read_text() + "\n- a later release\n")
    git("commit", "-q", "-am", "a later release", cwd=template)
    git("branch", "-f", "release", "HEAD", cwd=template)
    drift = subprocess.run(
        ["sh", "ci/template-drift.sh"], cwd=root, capture_output=True, text=True, env=environment
    )
    assert drift.returncode != 0, drift.stdout + drift.stderr


def test_the_skeleton_refuses_bad_answers_in_one_line_each(tmp_path):
    result = subprocess.run(
        [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "--directory", "monorepo"]
        + ["-o", str(tmp_path / "out"), "repo_name=ML/Models", "release_branch=main"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'ERROR: repo_name="ML/Models" gives repo_slug="ml/models", which is not a valid repository'
        " folder name (expected lower-case letters and digits in words joined by single hyphens,"
        " starting with a letter)",
        'ERROR: release_branch="main" is the same as default_branch (expected a separate branch'
        " that moves only on release)",
        "Run again with your answers: cookiecutter --no-input <template> --directory monorepo"
        " repo_name=ML/Models release_branch=main",
    ]
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# GitLab: the skeleton's .gitlab-ci.yml includes each folder's ci/gitlab.yml; gitlab-ci-local
# evaluates the rules (rules:changes against origin's default branch, as a merge request
# pipeline compares with its target branch) and runs the jobs.

GITLAB_FOLDERS = {
    "churn-model": {},
    "fraud-detector": {
        "project_name": "Fraud Detector",
        "include_feature_store": "no",
        "include_serving": "no",
        "problem_type": "regression",
        "compute": "classic",
    },
}
MERGE_REQUEST = {
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "CI_COMMIT_BRANCH": None,
}


@pytest.fixture(scope="module")
def gitlab_monorepo(tmp_path_factory):
    """A GitLab monorepo with two model folders, committed on main, with `origin` (a bare clone)
    whose default branch gitlab-ci-local compares with."""
    base = tmp_path_factory.mktemp("gitlab-monorepo")
    root = Path(
        cookiecutter(
            str(TEMPLATE),
            directory="monorepo",
            no_input=True,
            extra_context={"cicd_platform": "gitlab"},
            output_dir=str(base),
        )
    )
    for answers in GITLAB_FOLDERS.values():
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context={**answers, "repository_layout": "monorepo", "cicd_platform": "gitlab"},
            output_dir=str(root / "models"),
        )
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "two models", cwd=root)
    git("clone", "-q", "--bare", str(root), str(base / "origin.git"), cwd=base)
    git("remote", "add", "origin", str(base / "origin.git"), cwd=root)
    git("fetch", "-q", "origin", cwd=root)
    git("remote", "set-head", "origin", "main", cwd=root)
    return root


def gitlab_jobs(root, variables):
    """The jobs gitlab-ci-local would run for this pipeline."""
    result = gitlab_local(root, "--list-json", variables=variables)
    assert result.returncode == 0, result.stdout + result.stderr
    return {job["name"] for job in json.loads(result.stdout) if job["when"] != "never"}


VALIDATE_JOBS = ("lint", "unit-tests", "bundle-validate")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"models/fraud-detector/conf/thresholds.yml": "# tuned\n"}, ["fraud-detector"]),
        ({"models/churn-model/README.md": "More.\n"}, ["churn-model"]),
        ({"ci/template-drift.sh": "# shared\n"}, ["churn-model", "fraud-detector"]),
        ({"README.md": "Only the root README.\n"}, []),
    ],
    ids=["one-model", "the-other-model", "shared-ci", "root-readme"],
)
def test_gitlab_merge_request_runs_only_the_touched_folders_jobs(
    gitlab_monorepo, files, expected, request
):
    root = gitlab_monorepo
    branch = f"gitlab-{request.node.callspec.id}"
    change_on_branch(root, branch, files)
    try:
        jobs = gitlab_jobs(root, MERGE_REQUEST)
    finally:
        git("checkout", "-q", "main", cwd=root)
    wanted = {f"{folder}:{job}" for folder in expected for job in VALIDATE_JOBS}
    assert jobs == wanted | {"repository:lint"}


def test_gitlab_folder_jobs_run_in_their_folder(gitlab_monorepo, tmp_path):
    """Each folder's jobs run its own commands in its own folder, with its own resource group;
    a rollback runs for the model named, and only from the branch that deploys the target."""
    root = gitlab_monorepo
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("databricks", "curl", "python", "pre-commit", "pytest", "apt-get", "cruft"):
        (stand_ins / tool).write_text(
            f'#!/bin/sh\necho "$(basename "$PWD") {tool}${{*:+ $*}}" >> "{log}"\n'
        )
        (stand_ins / tool).chmod(0o755)
    preview = yaml.safe_load(gitlab_local(root, "--preview").stdout)
    for folder in GITLAB_FOLDERS:
        package = folder.replace("-", "_")
        for target in ("staging", "prod"):
            job = preview[f"{folder}:deploy-{target}"]
            assert (
                job["resource_group"]
                == preview[f"{folder}:rollback-{target}"]["resource_group"]
                == f"{folder}-{target}"
            )
            log.unlink(missing_ok=True)
            result = gitlab_local(
                root,
                f"{folder}:deploy-{target}",
                "--force-shell-executor",
                path=stand_ins,
            )
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            calls = log.read_text().splitlines()
            assert f"{folder} python -m {package} doctor --target {target}" in calls, calls
            assert f"{folder} databricks bundle deploy -t {target}" in calls, calls
        log.unlink(missing_ok=True)
        result = gitlab_local(
            root, f"{folder}:unit-tests", "--force-shell-executor", path=stand_ins
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert f"{folder} pytest" in log.read_text().splitlines()
    rollback = {
        "CI_PIPELINE_SOURCE": "web",
        "MANUAL_TASK": "rollback",
        "ROLLBACK_MODEL": "fraud-detector",
        "ROLLBACK_TARGET": "staging",
        "CI_COMMIT_BRANCH": "main",
    }
    assert gitlab_jobs(root, rollback) == {"fraud-detector:rollback-staging"}
    assert gitlab_jobs(root, {**rollback, "ROLLBACK_TARGET": "prod"}) == set()
    release = {**rollback, "ROLLBACK_TARGET": "prod", "CI_COMMIT_BRANCH": "release"}
    assert gitlab_jobs(root, release) == {"fraud-detector:rollback-prod"}


@pytest.mark.slow
def test_gitlab_lint_jobs_pass_with_the_repositorys_hooks(gitlab_monorepo):
    """Each folder's lint job and the repository's, as written (pre-commit itself from the
    template's tooling): the GitLab CI files, fragments included, match GitLab's schema."""
    root = gitlab_monorepo
    preview = yaml.safe_load(gitlab_local(root, "--preview").stdout)
    for job in [f"{folder}:lint" for folder in GITLAB_FOLDERS] + ["repository:lint"]:
        [install, command] = preview[job]["script"]
        assert install.startswith("python -m pip install"), install
        # The folder's ci/gitlab.yml, or the root's .gitlab-ci.yml, against GitLab's schema.
        assert hook_passed(run_hooks(command, root), "the GitLab CI files match"), job


def test_a_gitlab_model_folder_trades_its_pipeline_for_jobs_the_root_includes(
    gitlab_monorepo, tmp_path
):
    """Against a standalone render of the same answers: the folder has ci/gitlab.yml instead of
    .gitlab-ci.yml and the lint files, another README, and nothing else differs. The root's hooks
    are the standalone project's, with the same pins."""
    root = gitlab_monorepo

    for name, answers in GITLAB_FOLDERS.items():
        standalone = standalone_render({**answers, "cicd_platform": "gitlab"}, tmp_path / name)
        dropped, added, differ = against_standalone(root / "models" / name, standalone)
        assert dropped == {".gitlab-ci.yml"} | STANDALONE_ONLY
        assert added == {"ci/gitlab.yml"}
        assert differ == {"README.md"}, differ

    def pins(config):
        [repo] = config["repos"]
        return {hook["id"]: hook.get("additional_dependencies") for hook in repo["hooks"]}

    ours = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    theirs = yaml.safe_load((standalone / ".pre-commit-config.yaml").read_text())
    assert pins(ours) == pins(theirs)
    assert yaml.safe_load((root / ".yamllint.yml").read_text()) == yaml.safe_load(
        (standalone / ".yamllint.yml").read_text()
    )


# --------------------------------------------------------------------------------------------
# Azure DevOps: one pipeline per model folder (path filters on the folder and the shared files),
# and the repository's own pipeline. Azure has no local runner: the stage conditions stay within
# test_ci's documented patterns, and the path filters are plain folder and file prefixes, whose
# meaning (a changed file matches a filter equal to it or to a folder above it) is the documented
# one (learn.microsoft.com/azure/devops/pipelines/repos/azure-repos-git#paths).

AZURE_FOLDERS = {
    "churn-model": {"cloud": "azure"},
    "fraud-detector": {
        "project_name": "Fraud Detector",
        "cloud": "aws",
        "include_feature_store": "no",
        "include_monitoring": "no",
        "problem_type": "regression",
    },
}


@pytest.fixture(scope="module")
def azure_monorepo(tmp_path_factory):
    root = Path(
        cookiecutter(
            str(TEMPLATE),
            directory="monorepo",
            no_input=True,
            extra_context={"cicd_platform": "azure_devops"},
            output_dir=str(tmp_path_factory.mktemp("azure-monorepo")),
        )
    )
    for answers in AZURE_FOLDERS.values():
        extra = {**answers, "repository_layout": "monorepo", "cicd_platform": "azure_devops"}
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=extra, output_dir=str(root / "models")
        )
    return root


def path_filter_selects(filters, changed):
    assert not any(set("*?[") & set(f) for f in filters), "plain prefixes only: " + str(filters)
    return any(
        path == f or path.startswith(f.rstrip("/") + "/") for path in changed for f in filters
    )


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["models/fraud-detector/conf/thresholds.yml"], ["fraud-detector"]),
        (["models/churn-model/src/churn_model/model/features.py"], ["churn-model"]),
        (["ci/template-drift.sh"], ["churn-model", "fraud-detector"]),
        ([".pre-commit-config.yaml"], ["churn-model", "fraud-detector"]),
        (["README.md", "azure-pipelines.yml"], []),
        (["models/churn-model-old/README.md"], []),
    ],
    ids=["one-model", "the-other-model", "shared-ci", "shared-lint", "root-only", "a-lookalike"],
)
def test_azure_runs_only_the_pipelines_of_the_touched_folders(azure_monorepo, changed, expected):
    for event in ("pr", "trigger"):
        selected = [
            folder
            for folder in AZURE_FOLDERS
            if path_filter_selects(
                load_yaml(azure_monorepo / "models" / folder / "azure-pipelines.yml")[event][
                    "paths"
                ]["include"],
                changed,
            )
        ]
        assert selected == expected, event


def test_azure_folder_pipelines_run_in_their_folder_with_their_own_environments(azure_monorepo):
    for folder, answers in AZURE_FOLDERS.items():
        config = load_yaml(azure_monorepo / "models" / folder / "azure-pipelines.yml")
        assert "schedules" not in config  # the repository's pipeline checks drift weekly
        assert "tags" not in config["trigger"]  # prod from the release branch only
        main, release = "refs/heads/main", "refs/heads/release"
        for reason, branch, parameters, stages in [
            ("PullRequest", "refs/pull/1/merge", {}, {"validate"}),
            ("IndividualCI", main, {}, {"deploy_staging"}),
            ("IndividualCI", release, {}, {"deploy_prod"}),
            ("IndividualCI", "refs/tags/v1.0.0", {}, set()),
            ("Manual", release, {"task": "rollback", "rollbackTarget": "prod"}, {"rollback"}),
        ]:
            assert azure_stages(config, reason, branch, **parameters) == stages, (folder, reason)
        stages = {stage["stage"]: stage for stage in config["stages"]}
        for name, environment in (
            ("deploy_staging", f"{folder}-staging"),
            ("deploy_prod", f"{folder}-prod"),
            ("rollback", f"{folder}-${{{{ parameters.rollbackTarget }}}}"),
        ):
            (job,) = stages[name]["jobs"]
            assert job["environment"] == environment, name
        in_folder = []
        for stage in config["stages"]:
            for job in stage["jobs"]:
                for step in azure_steps(job):
                    script = azure_script(step) or ""
                    if script.startswith("git ls-files"):
                        assert f"-- models/{folder} |" in script and "pre-commit run" in script
                    elif '"pre-commit==' in script or '"cruft==' in script:
                        continue  # a tool, installed wherever the job starts
                    elif any(word in script for word in ("pip install", "pytest", "databricks b")):
                        where = step.get("workingDirectory") or step.get("inputs", {}).get(
                            "workingDirectory"
                        )
                        in_folder.append((script.splitlines()[0], where))
        assert in_folder and all(where == f"models/{folder}" for _, where in in_folder), in_folder
        if answers["cloud"] == "azure":
            assert any(
                step.get("task") == "AzureCLI@2"
                for job in stages["deploy_prod"]["jobs"]
                for step in azure_steps(job)
            )


def test_the_azure_repository_pipeline_lints_its_files_and_checks_drift(azure_monorepo):
    config = load_yaml(azure_monorepo / "azure-pipelines.yml")
    assert config["trigger"] == "none"
    assert azure_stages(config, "PullRequest", "refs/pull/1/merge") == {"lint"}
    assert azure_stages(config, "Schedule", "refs/heads/main") == {"template_drift"}
    assert azure_stages(config, "Manual", "refs/heads/main") == {"template_drift"}
    assert azure_stages(config, "IndividualCI", "refs/heads/main") == set()


def test_an_azure_model_folder_keeps_its_pipeline_but_not_its_lint_files(azure_monorepo, tmp_path):
    for name, answers in AZURE_FOLDERS.items():
        standalone = standalone_render(
            {**answers, "cicd_platform": "azure_devops"}, tmp_path / name
        )
        dropped, added, differ = against_standalone(azure_monorepo / "models" / name, standalone)
        assert dropped == STANDALONE_ONLY
        assert added == set()
        assert differ == {"README.md", "azure-pipelines.yml"}, differ


@pytest.mark.slow
def test_azure_pipelines_pass_the_repositorys_hooks(azure_monorepo):
    """The repository's hooks on a folder's files and on its own (the Azure schema included),
    with the commands the pipelines run."""
    root = azure_monorepo
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    commands = []
    for folder in AZURE_FOLDERS:
        config = load_yaml(root / "models" / folder / "azure-pipelines.yml")
        [validate] = [s for s in config["stages"] if s["stage"] == "validate"]
        [lint] = [j for j in validate["jobs"] if j["job"] == "lint"]
        commands += [
            azure_script(s) for s in lint["steps"] if "pre-commit run" in (azure_script(s) or "")
        ]
    config = load_yaml(root / "azure-pipelines.yml")
    [lint] = [s for s in config["stages"] if s["stage"] == "lint"]
    commands += [
        azure_script(s)
        for s in lint["jobs"][0]["steps"]
        if "pre-commit run" in (azure_script(s) or "")
    ]
    assert len(commands) == 3, commands
    for command in commands:
        assert hook_passed(run_hooks(command, root), "the Azure Pipelines files match"), command

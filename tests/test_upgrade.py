"""Template upgrades with cruft, as a team runs them.

Two bases: the previous release, found from git history (the last commit of main that carried the
previous `_template_version`, or $UC_MLOPS_PREVIOUS_RELEASE), and OLDEST_LIFECYCLE, the oldest commit
of main that rendered a lifecycle package. A throwaway template repository holds a base and the
current working tree as two commits; projects are created with `cruft create` at the first, updated
with `cruft update` to the second, put through the CHANGELOG's upgrade notes, and must then equal a
fresh render, keep the team's edit, and (slow) install and pass their own tests.
"""

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from test_generated_project import (
    in_shared_venv,
    install,
    project_python,  # noqa: F401 (a fixture)
)
from variants import CUSTOM_NAMES, TEMPLATE, copy_working_tree

CRUFT = Path(sys.executable).with_name("cruft")
PREVIOUS_ENV = "UC_MLOPS_PREVIOUS_RELEASE"
# 0.1.0 in development: the first commit whose render had the lifecycle package, CI and bundle.
OLDEST_LIFECYCLE = "1e3a2ac8d3a58af83bbd082772bc5f509520a2a2"
CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.M)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "uc-mlops tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "uc-mlops tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}

# Non-default answers: other catalogs, schema, model name, groups and CI platform.
UPGRADE_VARIANTS = {
    "custom-gitlab-regression": {
        **CUSTOM_NAMES,
        "cicd_platform": "gitlab",
        "cloud": "aws",
        "dev_workspace_host": "https://dbc-2a2a2a2a-2b2b.cloud.databricks.com",
        "staging_workspace_host": "https://dbc-2a2a2a2a-2b2b.cloud.databricks.com",
        "prod_workspace_host": "https://dbc-3a3a3a3a-3b3b.cloud.databricks.com",
        "problem_type": "regression",
        "include_feature_store": "no",
        "compute": "classic",
    },
    "custom-azure-devops-feature-store": {
        "project_name": "Demand Forecast",
        "model_name": "demand_model",
        "uc_schema": "forecasting",
        "dev_catalog": "sandbox",
        "staging_catalog": "preprod",
        "prod_catalog": "production",
        "cicd_platform": "azure_devops",
        "include_serving": "no",
    },
}


def git(*arguments, cwd=TEMPLATE):
    result = subprocess.run(
        ["git", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_IDENTITY},
    )
    assert result.returncode == 0, f"git {' '.join(arguments)}: {result.stderr}"
    return result.stdout


def version_at(commit):
    return json.loads(git("show", f"{commit}:cookiecutter.json"))["_template_version"]


def current_questions():
    return json.loads((TEMPLATE / "cookiecutter.json").read_text())


def previous_release():
    """The commit the upgrade starts from, and how it was found."""
    if os.environ.get(PREVIOUS_ENV):
        return os.environ[PREVIOUS_ENV], f"${PREVIOUS_ENV}"
    current = current_questions()["_template_version"]
    for commit in git("rev-list", "--first-parent", "HEAD").split():
        if subprocess.run(
            ["git", "cat-file", "-e", f"{commit}:cookiecutter.json"], cwd=TEMPLATE
        ).returncode:
            break  # older than the template itself
        if version_at(commit) != current:
            return commit, f"last commit carrying {version_at(commit)}"
    return OLDEST_LIFECYCLE, "oldest lifecycle commit (only one version released so far)"


def checked(commit, how):
    if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=TEMPLATE).returncode:
        pytest.fail(
            f"upgrade base {commit} ({how}) is not in this clone's history; fetch the full history "
            f"(git fetch --unshallow) or set {PREVIOUS_ENV} to a commit that is",
            pytrace=False,
        )
    return commit


@pytest.fixture(scope="session")
def base_commit():
    return checked(*previous_release())


BASES = {
    "previous-release": previous_release,
    "oldest-lifecycle": lambda: (OLDEST_LIFECYCLE, "the oldest lifecycle commit"),
}
# (base, variant) pairs whose updated project is installed and runs its own tests (slow).
INSTALLED = {
    ("previous-release", "custom-gitlab-regression"),
    ("oldest-lifecycle", "custom-azure-devops-feature-store"),
}


@pytest.fixture(scope="session")
def template_repos(tmp_path_factory):
    """Per base, a git repository whose first commit is the base and second the working tree."""
    repos = {}

    def repo_for(base):
        if base not in repos:
            repos[base] = make_template_repo(tmp_path_factory, checked(*BASES[base]()))
        return repos[base]

    return repo_for


def make_template_repo(tmp_path_factory, base_commit):
    repo = tmp_path_factory.mktemp("template-repo")
    git("init", "-q", "-b", "main", cwd=repo)
    archive = subprocess.run(
        ["git", "archive", base_commit], cwd=TEMPLATE, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive.stdout, check=True)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "previous release", cwd=repo)
    old = git("rev-parse", "HEAD", cwd=repo).strip()

    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "working tree", cwd=repo)
    new = git("rev-parse", "HEAD", cwd=repo).strip()
    return repo, old, new


def cruft(*arguments, cwd):
    result = subprocess.run([str(CRUFT), *arguments], cwd=cwd, capture_output=True, text=True)
    return result


def create(template, commit, answers, where):
    where.mkdir(parents=True)
    result = cruft(
        "create",
        str(template),
        "--checkout",
        commit,
        "--no-input",
        "--output-dir",
        str(where),
        "--extra-context",
        json.dumps(answers),
        cwd=where,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = where.iterdir()
    return project


def commit_all(project, message):
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", message, cwd=project)


def answers_of(project):
    context = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    return {key: value for key, value in context.items() if not key.startswith("_")}


def appended(before):
    """The questions appended since `before` was answered, with their defaults: what cruft update
    adds to .cruft.json (keys are append-only, and a new question's default keeps the project as
    it was)."""
    return {
        key: value[0] if isinstance(value, list) else value
        for key, value in current_questions().items()
        if not key.startswith("_") and key not in before
    }


def skipped_paths(project):
    return tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]


def files(root):
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    )


def assert_clean_update(project):
    assert not list(project.rglob("*.rej")), "cruft left .rej files"
    assert git("ls-files", "-u", cwd=project) == "", "unmerged paths after the update"
    for name in files(project):
        text = (project / name).read_text(errors="replace")
        assert not CONFLICT.search(text), f"conflict markers in {name}"


def test_renders_are_deterministic(tmp_path):
    for answers in UPGRADE_VARIANTS.values():
        first = Path(
            cookiecutter(
                str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(tmp_path / "a")
            )
        )
        second = Path(
            cookiecutter(
                str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(tmp_path / "b")
            )
        )
        assert files(first) == files(second)
        _, mismatch, errors = filecmp.cmpfiles(first, second, files(first), shallow=False)
        assert not mismatch and not errors, mismatch + errors
        for name in files(first):
            text = (first / name).read_text()
            assert str(tmp_path) not in text and str(TEMPLATE) not in text, (
                f"absolute path in {name}"
            )


def test_question_keys_are_append_only(base_commit):
    previous = list(json.loads(git("show", f"{base_commit}:cookiecutter.json")))
    current = list(current_questions())
    removed = [key for key in previous if key not in current]
    assert not removed, f"keys removed or renamed since {base_commit[:12]}: {removed}"
    assert [key for key in current if key in previous] == previous, "keys reordered"


def test_changelog_has_the_current_version_with_upgrade_notes():
    version = current_questions()["_template_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    sections = re.split(r"^## ", changelog, flags=re.M)
    (section,) = [
        s for s in sections if s.startswith(f"{version} ") or s.startswith(f"{version}\n")
    ]
    assert "### Upgrade notes" in section


def upgrade_steps(package):
    """The commands of the CHANGELOG's upgrade notes for every version since the base, in order."""
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    commands = []
    for section in re.split(r"^## ", changelog, flags=re.M)[1:]:
        version = section.split()[0]
        if version == "0.1.0":
            break  # the bases carry 0.1.0
        notes = section.split("### Upgrade notes", 1)[1]
        for block in re.findall(r"```bash\n(.*?)```", notes, flags=re.S):
            commands += [line.strip() for line in block.splitlines() if line.strip()]
    return [command.replace("<package>", package) for command in commands]


@pytest.mark.parametrize(
    ("base", "name"),
    [
        pytest.param(base, name, marks=[pytest.mark.slow] if (base, name) in INSTALLED else [])
        for base in BASES
        for name in UPGRADE_VARIANTS
    ],
)
def test_cruft_update(tmp_path, template_repos, base, name, request):
    template, old, new = template_repos(base)
    answers = UPGRADE_VARIANTS[name]

    untouched = create(template, old, answers, tmp_path / "untouched")
    edited = create(template, old, answers, tmp_path / "edited")
    for project in (untouched, edited):
        git("init", "-q", "-b", "main", cwd=project)
        commit_all(project, "created from the template")
        diff = cruft("diff", "--exit-code", cwd=project)
        assert diff.returncode == 0, f"cruft diff right after create:\n{diff.stdout}"
    before = answers_of(untouched)

    # A realistic team edit to a team-owned file: a new feature in the user feature table.
    package = before["package_name"]
    features = edited / "src" / package / "features" / "user_features.py"
    team_line = "\n\n# Team edit: weekend activity share is added here next sprint.\n"
    features.write_text(features.read_text() + team_line)
    commit_all(edited, "team: plan a new feature")
    old_render = {path: (untouched / path).read_bytes() for path in files(untouched)}

    for project in (untouched, edited):
        result = cruft("update", "--checkout", new, "--skip-apply-ask", cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert_clean_update(project)
        assert answers_of(project) == before | appended(before), "cruft update changed answers"
        assert json.loads((project / ".cruft.json").read_text())["commit"] == new
    assert features.read_text().endswith(team_line), "the team edit was lost"

    # The upgrade notes, as a team follows them: the edit moves into the new model package, then
    # the notes' commands run.
    model_features = edited / "src" / package / "model" / "features.py"
    model_features.write_text(model_features.read_text() + team_line)
    steps = upgrade_steps(package)
    for project in (untouched, edited):
        for command in steps:
            result = subprocess.run(
                command, shell=True, cwd=project, capture_output=True, text=True
            )
            assert result.returncode == 0, f"{command}: {result.stderr}"
        commit_all(project, "upgrade notes")
    assert model_features.read_text().endswith(team_line), "the team edit was lost"

    fresh = create(template, new, answers, tmp_path / "fresh")
    assert files(untouched) == files(fresh)
    for path in files(fresh):
        if path == ".cruft.json":
            continue
        expected = (fresh / path).read_bytes()
        assert (untouched / path).read_bytes() == expected, f"{path} differs from a fresh render"
    assert set(old_render) - set(files(fresh)) == set(old_render) - set(files(untouched))

    if (base, name) in INSTALLED:
        # An upgraded project that no longer works is the failure that matters: install the
        # edited one (the team's change included) and run its own tests. The untouched project
        # equals a fresh render byte for byte (above), whose whole suite test_generated_project
        # runs; here the model's own tests and the stage chain run on the upgraded install.
        python = request.getfixturevalue("project_python")
        install(python, edited)
        result = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
            + ["tests/test_model.py", "tests/test_cli.py", "tests/test_lifecycle.py"],
            cwd=edited,
            capture_output=True,
            text=True,
            env=in_shared_venv(edited),
        )
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert " passed" in summary, summary


def test_team_owned_paths_exist_and_are_documented(tmp_path):
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path)))
    readme = (project / "README.md").read_text()
    for path in skipped_paths(project):
        assert (project / path).exists(), f"skip entry {path} names nothing"
        assert f"`{path}" in readme, f"README does not list the team-owned {path}"

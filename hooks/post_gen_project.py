"""Remove the files of the options that were not chosen, then print the next steps.

The rendered tree holds the files of every option; the table below says which option owns which
path, so adding an option means adding its paths here (see README, "Adding an option").
"""

import json
import os
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# (question, answer that keeps the paths) -> paths relative to the project root; "{package}"
# stands for the package name. A path listed under several options stays only when all of them
# are chosen (the online feature store needs both serving and the feature store).
OPTIONAL_PATHS = {
    ("include_feature_store", "yes"): [
        "src/{package}/runtime/feature_engineering.py",
        "src/{package}/serving/online_store.py",
        "resources/feature-engineering.yml",
    ],
    ("include_serving", "yes"): [
        "conf/serving.yml",
        "resources/serving.yml",
        "src/{package}/serving",
        "tests/serving",
    ],
    ("include_monitoring", "yes"): [
        "conf/monitoring.yml",
        "notebooks/monitor.py",
        "sql",
        "resources/monitoring.yml",
        "src/{package}/monitoring",
        "tests/monitoring",
    ],
    ("cicd_platform", "github_actions"): [".github"],
    ("cicd_platform", "gitlab"): [".gitlab-ci.yml", "ci/gitlab.yml"],
    ("cicd_platform", "azure_devops"): ["azure-pipelines.yml"],
    # A monorepo's model folder is linted and served by the repository's own CI files; on GitLab
    # the repository's pipeline includes the folder's jobs (ci/gitlab.yml).
    ("repository_layout", "standalone"): [
        ".github",
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
        ".yamllint.yml",
    ],
    ("repository_layout", "monorepo"): ["ci/gitlab.yml"],
}


def remove_unchosen(root):
    unwanted = set()
    for (question, keep_when), paths in OPTIONAL_PATHS.items():
        for relative in paths:
            relative = relative.format(package=ANSWERS["package_name"])
            if not (root / relative).exists():
                # A stale table would silently ship files of unchosen options; fail loudly instead.
                sys.exit(f"ERROR: post-generation table names {relative}, which the template lacks")
            if ANSWERS[question] != keep_when:
                unwanted.add(relative)
    # Deepest first, so a file inside an already removed folder is never looked for.
    for relative in sorted(unwanted, key=lambda p: p.count("/"), reverse=True):
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def where_from_the_user():
    """The project folder as the user can `cd` to it: relative to the folder cookiecutter was
    started in (the shell's PWD, which the hook inherits), or absolute when that is shorter."""
    here = Path.cwd()
    started_in = os.environ.get("PWD")
    if not started_in:
        return str(here)
    relative = os.path.relpath(here, started_in)
    return relative if not relative.startswith("..") else str(here)


def print_next_steps():
    package = ANSWERS["package_name"]
    folder = where_from_the_user()
    git_init = (
        "\n  git init -q && git add -A          # its own repository: pre-commit and CI read it"
    )
    ci = "README.md explains the one-time workspace and CI set-up."
    if ANSWERS["repository_layout"] == "monorepo":
        git_init = ""  # the monorepo's work tree holds the folder already
        ci = (
            "The repository's README explains its CI: a pull request that touches this folder\n"
            "validates it, and a merge deploys only the model folders it touched."
        )
    print(
        f"""
Created {folder} ({ANSWERS["project_name"]}).

Next steps (README.md, "Quickstart on a laptop"; Java 17 for local Spark):
  cd {folder}{git_init}
  python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'   # about 1.5 GB
  python -m {package} local-run      # the whole lifecycle on your laptop, no workspace needed
  pytest                             # the project's own tests
  databricks bundle validate -t dev  # then: databricks bundle deploy -t dev

{ci}"""
    )


if __name__ == "__main__":
    remove_unchosen(Path.cwd())
    print_next_steps()

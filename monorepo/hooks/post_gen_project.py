"""Remove the CI files of the platforms that were not chosen, then print the next steps.

Deterministic and side-effect free beyond the rendered folder; never changes an answer.
"""

import json
import shlex
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# Platform -> the skeleton's paths for it (relative to the repository root).
PLATFORM_PATHS = {
    "github_actions": [".github", "ci/changed_models.py"],
    "gitlab": [".gitlab-ci.yml"],
    "azure_devops": ["azure-pipelines.yml"],
}


def remove_unchosen(root):
    for platform, paths in PLATFORM_PATHS.items():
        for relative in paths:
            path = root / relative
            if not path.exists():
                sys.exit(f"ERROR: post-generation table names {relative}, which the skeleton lacks")
            if platform == ANSWERS["cicd_platform"]:
                continue
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def print_next_steps():
    print(
        f"""
Created {ANSWERS["repo_slug"]} ({ANSWERS["repo_name"]}), a repository for many models.

Next steps (README.md, "Add a model"):
  cd {ANSWERS["repo_slug"]}
  git init -q -b {shlex.quote(ANSWERS["default_branch"])} && git add -A && git commit -q -m "uc-mlops monorepo"
  cruft create <template> --output-dir models --extra-context-file ci/model-answers.json"""
    )


if __name__ == "__main__":
    remove_unchosen(Path.cwd())
    print_next_steps()

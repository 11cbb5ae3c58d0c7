"""Which model folders a change touches: the pipelines validate, deploy and train only those.

A model folder is a directory directly under ``models/`` that holds a ``databricks.yml`` (each is a
complete Asset Bundle, rendered and upgraded with cruft on its own). A change to a file outside
every model folder that the pipelines read (``--shared``: this script, the CI definitions) touches
every model folder; any other change outside them (the root README, say) touches none.

    python ci/changed_models.py --base <commit> [--head <commit>] [--shared PATH ...]

prints a JSON list, sorted by folder, for a CI matrix: ``[{"folder": "models/churn-model",
"package": "churn_model"}, ...]`` (the package from the folder's pyproject.toml: ``python -m
<package> doctor`` runs before the dev extra is installed). A base of all zeros (a new branch)
touches every folder. Standard library and git only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

MODELS = PurePosixPath("models")


def model_folders(root: Path) -> list[str]:
    """Every model folder that exists in the checkout."""
    return sorted(
        (MODELS / path.parent.name).as_posix() for path in (root / MODELS).glob("*/databricks.yml")
    )


def package_of(root: Path, folder: str) -> str:
    """The import package a model folder builds (its wheel's only package)."""
    pyproject = tomllib.loads((root / folder / "pyproject.toml").read_text())
    [package] = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return PurePosixPath(package).name


def changed_files(root: Path, base: str, head: str) -> list[str] | None:
    """Paths that differ between the merge base of ``base`` and ``head``, and ``head``; None when
    there is no base to compare with (the first push of a branch)."""
    if set(base) == {"0"}:
        return None
    result = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"changed_models: git diff {base}...{head} failed: {result.stderr.strip()}"
        )
    return [line for line in result.stdout.splitlines() if line]


def touched(changed: list[str] | None, folders: list[str], shared: list[str]) -> list[str]:
    """The folders among ``folders`` that ``changed`` touches (all of them when None)."""

    def under(path: str, prefix: str) -> bool:
        return path == prefix or path.startswith(prefix.rstrip("/") + "/")

    if changed is None or any(under(path, prefix) for path in changed for prefix in shared):
        return list(folders)
    return [folder for folder in folders if any(under(path, folder) for path in changed)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the target branch's commit")
    parser.add_argument("--head", default="HEAD", help="the change's commit (default HEAD)")
    parser.add_argument(
        "--shared",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or folder whose change touches every model (repeat)",
    )
    args = parser.parse_args(argv)
    root = Path.cwd()
    folders = model_folders(root)
    chosen = touched(changed_files(root, args.base, args.head), folders, args.shared)
    print(json.dumps([{"folder": f, "package": package_of(root, f)} for f in chosen]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

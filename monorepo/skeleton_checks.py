"""The answer checks of the repository skeleton, loaded through `_extensions`: `repo_folder` runs
while cookiecutter renders `__repo_folder` (after the last question, before anything exists on
disk) and refuses bad answers the way the model template does: one line per problem, then the
line to run again, exit 1, no traceback, nothing written.

The rules are the model template's (`answer_rules.py`, in the folder above this one, which a
`cookiecutter --directory monorepo` or `cruft create --directory monorepo` render has checked out
beside it): the same branch names and folder names are valid in both.
"""

import json
import shlex
import sys
from pathlib import Path

from jinja2.ext import Extension

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from answer_rules import (  # noqa: E402 (the path above first)
    DERIVED,
    SLUG,
    Findings,
    check_branches,
    check_every_answer,
    check_text,
    escapes_output_folder,
)

QUESTIONS = json.loads(Path(__file__).with_name("cookiecutter.json").read_text(encoding="utf-8"))
# A slug that kept its default is reported as the name it came from (answer_rules.Findings).
DERIVED.setdefault("repo_slug", ("repo_name", lambda name: name.lower().replace(" ", "-")))


def check(answers):
    findings = Findings(answers)
    check_every_answer(findings)
    check_text(findings, "repo_name", 80)
    slug = findings["repo_slug"]
    findings.require(
        not escapes_output_folder(slug) and SLUG.fullmatch(slug) is not None,
        "repo_slug",
        "is not a valid repository folder name",
        "lower-case letters and digits in words joined by single hyphens, starting with a letter",
    )
    check_branches(findings)
    return findings


def repo_folder(answers):
    """The repository folder name; every problem and exit 1 when an answer is refused."""
    findings = check(answers)
    if not findings.errors:
        return answers["repo_slug"]
    for line in findings.errors:
        print(line, file=sys.stderr)
    typed = [
        shlex.quote(f"{key}={value}")
        for key, value in answers.items()
        if key in QUESTIONS
        and not key.startswith("_")
        and value != (QUESTIONS[key][0] if isinstance(QUESTIONS[key], list) else QUESTIONS[key])
        and findings.typed(key) == key
    ]
    print(
        "Run again with your answers: cookiecutter --no-input <template> --directory monorepo "
        + " ".join(typed),
        file=sys.stderr,
    )
    raise SystemExit(1)


class SkeletonChecks(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["repo_folder"] = repo_folder

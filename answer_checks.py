"""Jinja filters that apply the answer rules (`answer_rules.py`), loaded through `_extensions`.

- `project_folder`: `__project_folder` in cookiecutter.json runs it while cookiecutter renders the
  answers, after the last question and before anything exists on disk (cookiecutter creates the
  project folder, with every missing parent, before the pre-generation hook runs). It returns the
  slug, or prints every problem, one line each, then a line with the answers to run again, and
  stops cookiecutter there with exit status 1: no traceback (cookiecutter prints one for every
  failed hook), no file, no folder.
- `answer_findings`: the same findings as data, for the pre-generation hook (`| tojson`).

This module has a name of its own because `cruft update` renders the old and the new template in
one process and Python imports each module once: a filter added to `local_extensions.py` would be
missing when the old release's copy of that module was imported first. The same holds for this
module and `answer_rules.py` from now on: keep the names of the class and of these filters; during
an update the rules of the project's release check the answers (keys are append-only, so those
rules always find the questions they check), and a fresh `cruft create` or cookiecutter render uses
the current ones. The later extension in `_extensions` wins, so this `project_folder` also replaces
the one an older `local_extensions.py` registers.

Standard library and Jinja only, deterministic; it reads cookiecutter.json beside it for the
defaults, and never changes an answer.
"""

import json
import shlex
import sys
from pathlib import Path

from jinja2 import pass_environment
from jinja2.ext import Extension

from answer_rules import NOT_TEXT, check

QUESTIONS = Path(__file__).with_name("cookiecutter.json")
# What the user ran is not known here (cookiecutter or cruft, a path, a URL or gh:org/name).
TEMPLATE_PLACEHOLDER = "<template>"


def _default(environment, raw, answers):
    """The default cookiecutter offers for a question, given the answers before it."""
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    if not isinstance(raw, str):
        return raw
    return environment.from_string(raw).render(cookiecutter=answers)


def rerun_line(environment, answers):
    """`cookiecutter --no-input <template> key=value ...` for every answer that is not a default."""
    arguments = []
    for question, raw in json.loads(QUESTIONS.read_text(encoding="utf-8")).items():
        if question.startswith("_") or question not in answers:
            continue
        value = answers[question]
        try:
            if value == _default(environment, raw, answers):
                continue
        except Exception:  # a default that does not render: keep the answer
            pass
        if not isinstance(value, str) or NOT_TEXT.search(value):
            continue  # not one line of text: it is refused and has to be typed again anyway
        if any(marker in value for marker in ("{{", "{%", "{#")):
            value = "{% raw %}" + value + "{% endraw %}"  # cookiecutter renders answers as Jinja
        arguments.append(shlex.quote(f"{question}={value}"))
    command = ["cookiecutter", "--no-input", TEMPLATE_PLACEHOLDER, *arguments]
    return "Run again with your answers: " + " ".join(command)


@pass_environment
def project_folder(environment, answers):
    """The project folder name (the slug); every problem and exit 1 when an answer is refused."""
    findings = check(answers)
    if not findings.errors:
        return answers["project_slug"]
    for line in findings.errors:
        print(line, file=sys.stderr)
    print(rerun_line(environment, answers), file=sys.stderr)
    # Cookiecutter has not created anything yet; stop before it does.
    raise SystemExit(1)


def answer_findings(answers):
    """{"errors": [...], "warnings": [...]}: the lines `answer_rules.check` gives."""
    findings = check(answers)
    return {"errors": findings.errors, "warnings": findings.warnings}


class AnswerChecks(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["project_folder"] = project_folder
        environment.filters["answer_findings"] = answer_findings

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

Standard library and Jinja only (and PyYAML, cookiecutter's own dependency, for a monorepo's
model folders), deterministic; it reads cookiecutter.json beside it for the defaults and, for a
monorepo's model folder, the bundles beside it. It never changes an answer.
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


def refuse(environment, answers, errors):
    """Print every problem and the line to run again, then stop cookiecutter: exit 1, no
    traceback (cookiecutter prints one for every failed hook)."""
    for line in errors:
        print(line, file=sys.stderr)
    print(rerun_line(environment, answers), file=sys.stderr)
    raise SystemExit(1)


@pass_environment
def project_folder(environment, answers):
    """The project folder name (the slug); every problem and exit 1 when an answer is refused."""
    findings = check(answers)
    if not findings.errors:
        return answers["project_slug"]
    # Cookiecutter has not created anything yet; stop before it does.
    refuse(environment, answers, findings.errors)


def model_folders_beside(answers):
    """(folder, bundle name, model name) of each model folder beside the one being rendered, when
    it is a monorepo's model folder: the folders in the output folder (`models/`) that hold a
    `databricks.yml`. Read from the files, which their team may have edited since."""
    if answers.get("repository_layout") != "monorepo" or not answers.get("_output_dir"):
        return []
    import yaml  # cookiecutter's own dependency; only a monorepo render needs it

    output = Path(answers["_output_dir"])
    found = []
    for bundle_file in sorted(output.glob("*/databricks.yml")):
        folder = bundle_file.parent
        if folder.name == answers["project_slug"]:
            continue  # this render's own folder (cookiecutter --overwrite-if-exists)
        try:
            bundle = yaml.safe_load(bundle_file.read_text(encoding="utf-8")) or {}
            name = bundle["bundle"]["name"]
            model = bundle["variables"]["model_name"]["default"]
        except (yaml.YAMLError, KeyError, TypeError, UnicodeDecodeError):
            continue  # not a bundle of this template: nothing of ours to collide with
        found.append((f"{output.name}/{folder.name}", name, model))
    return found


# The answers a monorepo's model folders must share with it, rendered by the skeleton beside
# `models/` (and passed to `cruft create --extra-context-file` by its README).
REPOSITORY_ANSWERS = "ci/model-answers.json"


def repository_answers(answers):
    """{question: answer} every model folder of the monorepo this one is rendered into must
    give (its CI platform and branches); {} when that is not known (not a monorepo's model folder,
    or no skeleton there: `cruft update` renders into a temporary folder)."""
    if answers.get("repository_layout") != "monorepo" or not answers.get("_output_dir"):
        return {}
    path = Path(answers["_output_dir"]).parent / REPOSITORY_ANSWERS
    try:
        shared = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in shared.items() if isinstance(value, str)}


@pass_environment
def answer_findings(environment, answers):
    """{"errors": [...], "warnings": [...]}: the lines `answer_rules.check` gives.

    The pre-generation hook renders this after cookiecutter has added `_output_dir` to the
    answers, so a monorepo's model folder is checked against the folders beside it and the
    answers the repository shares (`ci/model-answers.json`) here. The answers were rendered before that was known; cookiecutter
    has created only the (empty) project folder since, so a refusal here removes it and stops
    like `project_folder` does."""
    neighbours = model_folders_beside(answers)
    shared = repository_answers(answers)
    findings = check(answers, neighbours, shared)
    if (neighbours or shared) and findings.errors:
        folder = Path(answers["_output_dir"]) / answers["project_slug"]
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        refuse(environment, answers, findings.errors)
    return {"errors": findings.errors, "warnings": findings.warnings}


class AnswerChecks(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["project_folder"] = project_folder
        environment.filters["answer_findings"] = answer_findings

"""Every question changes the rendered project: an answer nobody uses is a question nobody should
be asked (mlops-stacks asks for a read group and never uses it)."""

import filecmp
import json
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from variants import TEMPLATE

QUESTIONS = {
    key: value
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if not key.startswith("_")
}
# A valid answer different from the default, for every free-text question.
OTHER_ANSWER = {
    "project_name": "Other Model",
    "project_slug": "other-repo",
    "package_name": "other_package",
    "model_name": "other_model",
    "description": "Another sentence.",
    "uc_schema": "other_schema",
    "dev_catalog": "other_dev",
    "staging_catalog": "other_staging",
    "prod_catalog": "other_prod",
    "dev_workspace_host": "https://adb-5555555555555555.5.azuredatabricks.net",
    "staging_workspace_host": "https://adb-6666666666666666.6.azuredatabricks.net",
    "prod_workspace_host": "https://adb-7777777777777777.7.azuredatabricks.net",
    "reader_group": "other-readers",
    "developer_group": "other-engineers",
    "alert_email": "other@example.com",
    "default_branch": "trunk",
    "release_branch": "production",
}
# Questions whose answer the template does not use yet, with the issue that will use it. The test
# below fails as soon as one of them starts to matter, so this list can only shrink.
NOT_YET_USED: dict[str, str] = {}


def alternatives(question):
    default = QUESTIONS[question]
    return default[1:] if isinstance(default, list) else [OTHER_ANSWER[question]]


def tree(root):
    return sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())


def differs(left, right):
    left_files, right_files = tree(left), tree(right)
    if [str(p) for p in left_files] != [str(p) for p in right_files]:
        return True
    _, mismatch, errors = filecmp.cmpfiles(left, right, [str(p) for p in left_files], shallow=False)
    return bool(mismatch or errors)


@pytest.fixture(scope="module")
def default_project(tmp_path_factory):
    return cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path_factory.mktemp("d")))


def test_every_question_has_an_alternative():
    assert set(QUESTIONS) == {q for q, v in QUESTIONS.items() if isinstance(v, list)} | set(
        OTHER_ANSWER
    )


@pytest.mark.parametrize(
    ("question", "answer"), [(q, a) for q in QUESTIONS for a in alternatives(q)]
)
def test_answer_changes_the_project(tmp_path, default_project, question, answer):
    other = cookiecutter(
        str(TEMPLATE), no_input=True, output_dir=str(tmp_path), extra_context={question: answer}
    )
    left, right = Path(default_project), Path(other)
    changed = left.name != right.name or differs(left, right)
    assert changed != (question in NOT_YET_USED), (
        f"{question}={answer!r} {'changes' if changed else 'does not change'} the project"
    )

"""The answer checks, through the cookiecutter and cruft CLIs as a user runs them: every invalid
answer is refused with one line naming the question, the value and the rule, every problem at once,
then a line to run again with the answers; no traceback, nothing left on disk; hostile answers
cannot inject code; unusual but valid answers render."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from variants import TEMPLATE, copy_working_tree

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")
CRUFT = Path(sys.executable).with_name("cruft")
RERUN = "Run again with your answers: cookiecutter --no-input <template>"

# (question, value, words the rule's message must contain)
INVALID = [
    ("project_name", "   ", "empty"),
    ("project_name", "Churn\nModel", "newline"),
    ("project_name", 'Churn "Model"', "quote"),
    ("project_slug", "Churn_Model", "repository folder"),
    ("project_slug", "churn--model", "repository folder"),
    ("project_slug", "9lives", "repository folder"),
    ("package_name", "churn-model", "Python package"),
    ("package_name", "class", "keyword"),
    ("package_name", "json", "shadows"),
    ("model_name", "Churn", "Unity Catalog name"),
    ("model_name", "churn model", "Unity Catalog name"),
    ("model_name", "churn.model", "Unity Catalog name"),
    ("model_name", "m" * 200, "longest derived name"),
    ("description", "   ", "empty"),
    ("description", "one\ntwo", "newline"),
    ("uc_schema", "_ml", "Unity Catalog name"),
    ("uc_schema", "information_schema", "reserved"),
    ("uc_schema", "ml-team", "Unity Catalog name"),
    ("dev_catalog", "system_dev", "reserved"),
    ("dev_catalog", "sys", "reserved"),
    ("staging_catalog", "databricks_staging", "reserved"),
    ("prod_catalog", "hive_metastore", "reserved"),
    ("prod_catalog", "Prod", "Unity Catalog name"),
    ("prod_catalog", "staging", "same catalog as staging_catalog"),
    ("staging_catalog", "s" * 64, "online feature table name"),
    ("dev_workspace_host", "http://adb-1.1.azuredatabricks.net", "workspace URL"),
    ("staging_workspace_host", "adb-1.1.azuredatabricks.net", "workspace URL"),
    ("prod_workspace_host", "https://adb-1.1.azuredatabricks.net/path", "workspace URL"),
    ("prod_workspace_host", "https://user:pw@adb-1.1.azuredatabricks.net", "workspace URL"),
    ("reader_group", "", "empty"),
    ("reader_group", "ml`readers", "quote or backtick"),
    ("developer_group", 'ml "engineers"', "quote or backtick"),
    ("developer_group", "ml\tengineers", "control character"),
    ("alert_email", "ml-alerts", "e-mail"),
    ("alert_email", "a b@example.com", "e-mail"),
    ("default_branch", "feature..x", "git branch"),
    ("default_branch", "-main", "git branch"),
    ("release_branch", "release.lock", "git branch"),
    ("release_branch", "rel ease", "git branch"),
    ("release_branch", "main", "same as default_branch"),
    # `${...}` is a bundle reference: the bundle would resolve it (readers becoming developers).
    ("reader_group", "${var.developer_group}", "bundle reference"),
    ("developer_group", "ml-${bundle.target}", "bundle reference"),
    ("description", "Scores ${var.catalog} nightly", "bundle reference"),
    ("project_name", "Churn ${var.model_name}", "bundle reference"),
    ("alert_email", "${var.alert_email}@example.com", "bundle reference"),
    ("uc_schema", "${var.schema}", "bundle reference"),
    ("dev_workspace_host", "https://${workspace.host}", "bundle reference"),
    ("default_branch", "feature-${var.catalog}", "bundle reference"),
    # Characters YAML reads as line breaks or refuses, DEL, and text that is not UTF-8.
    ("description", "one\u2028two", "newline"),
    ("project_name", "Churn\x85Model", "newline"),
    ("reader_group", "ml\x7freaders", "control character"),
    ("description", "byte order\ufeffmark", "control character"),
    ("description", "caf\udce9", "control character"),
    ("release_branch", "release\u2029v1", "newline"),
    # Derived names are reported as the answer the user typed.
    (
        "project_name",
        "Modèle",
        'gives project_slug="mod\\u00e8le", which is not a valid repository',
    ),
    ("project_name", "Class", 'gives package_name="class", which is a Python keyword'),
    ("project_name", "JSON", 'gives package_name="json", which shadows'),
    ("project_slug", "class", 'gives package_name="class", which is a Python keyword'),
    # A project folder outside the output folder is refused before cookiecutter creates it.
    ("project_name", "a/b", 'gives project_slug="a/b", which is not a single folder'),
    ("project_name", "..", "not a single folder inside the output folder"),
    ("project_slug", "../escaped/x", "not a single folder inside the output folder"),
    ("project_slug", "a\\b", "not a single folder inside the output folder"),
    ("project_slug", "C:x", "not a single folder inside the output folder"),
]


# Choice questions: cookiecutter itself refuses a value outside the list before any hook runs.
INVALID_CHOICES = [
    ("cloud", "ibm"),
    ("cicd_platform", "jenkins"),
    ("compute", "gpu"),
    ("include_feature_store", "true"),
    ("include_serving", "Yes"),
    ("include_monitoring", "1"),
    ("problem_type", "ranking"),
    ("repository_layout", "models"),
]


def render(tmp_path, **answers):
    output = tmp_path / "out"
    output.mkdir()
    arguments = [f"{key}={value}" for key, value in answers.items()]
    result = subprocess.run(
        [str(COOKIECUTTER), "--no-input", str(TEMPLATE), "--output-dir", str(output), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    return result, output


def test_invalid_answer_table_covers_every_question():
    questions = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    asked = {key for key in questions if not key.startswith("_")}
    covered = {question for question, _, _ in INVALID} | {
        question for question, _ in INVALID_CHOICES
    }
    assert asked == covered
    assert len(INVALID) + len(INVALID_CHOICES) >= 25


@pytest.mark.parametrize(
    ("question", "value", "rule"), INVALID, ids=[f"{q}={v!r}"[:60] for q, v, _ in INVALID]
)
def test_invalid_answer_is_refused_cleanly(tmp_path, question, value, rule):
    result, output = render(tmp_path, **{question: value})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    named = [line for line in errors if line.startswith(f"ERROR: {question}={json.dumps(value)} ")]
    assert len(named) == 1, result.stderr
    assert rule in named[0] and "(expected " in named[0], named[0]
    assert result.stderr.splitlines()[-1].startswith(RERUN), result.stderr
    assert list(output.iterdir()) == [], "a refused render left files behind"
    assert [path.name for path in tmp_path.iterdir()] == ["out"], "files outside the output folder"


TWO_WRONG = {"project_name": "My_Model!", "alert_email": "x"}
TWO_WRONG_LINES = [
    'ERROR: project_name="My_Model!" gives project_slug="my_model!", which is not a valid '
    "repository folder name (expected lower-case letters and digits in words joined by single "
    "hyphens, starting with a letter)",
    'ERROR: alert_email="x" is not a plausible e-mail address (expected name@domain.tld)',
]


def test_every_problem_is_reported_at_once_without_a_traceback(tmp_path):
    result, output = render(tmp_path, **TWO_WRONG, cloud="aws", description="Scores nightly.")
    assert result.returncode == 1
    assert result.stdout == ""
    # Answers that differ from their defaults, in the order of the questions, shell-quoted.
    rerun = (
        f"{RERUN} 'project_name=My_Model!' 'description=Scores nightly.' cloud=aws alert_email=x"
    )
    assert result.stderr.splitlines() == [*TWO_WRONG_LINES, rerun]
    assert list(output.iterdir()) == []
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_empty_project_name_reports_every_problem(tmp_path):
    result, output = render(tmp_path, project_name="", reader_group="a'b")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'ERROR: project_name="" is empty (expected some text)',
        "ERROR: reader_group=\"a'b\" contains a quote or backtick (expected a group name without ` ' "
        'or ")',
        f"{RERUN} project_name= 'reader_group=a'\"'\"'b'",
    ]
    assert list(output.iterdir()) == []


def test_cruft_create_gives_the_same_lines(tmp_path):
    # cruft clones a git repository: the working tree, committed in a scratch repository.
    repo = tmp_path / "template"
    copy_working_tree(repo)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *command],
            cwd=repo,
            check=True,
        )
    output = tmp_path / "out"
    output.mkdir()
    result = subprocess.run(
        [str(CRUFT), "create", str(repo), "--no-input", "--output-dir", str(output)]
        + ["--extra-context", json.dumps(TWO_WRONG)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        *TWO_WRONG_LINES,
        f"{RERUN} 'project_name=My_Model!' alert_email=x",
    ]
    assert list(output.iterdir()) == []


def test_hook_refuses_what_a_replay_skipped(tmp_path):
    # `--replay` reuses the stored `__project_folder` instead of rendering it: the pre-generation
    # hook applies the same rules (answer_rules.py) as the second line.
    context = generate_context(str(TEMPLATE / "cookiecutter.json"))
    answers = dict(prompt_for_config(context, no_input=True))
    answers.update(alert_email="x", reader_group="a'b")
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": answers}))
    output = tmp_path / "out"
    output.mkdir()
    result = subprocess.run(
        [str(COOKIECUTTER), "--replay-file", str(replay), str(TEMPLATE), "-o", str(output)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert errors[:2] == [
        "ERROR: reader_group=\"a'b\" contains a quote or backtick (expected a group name without ` ' "
        'or ")',
        TWO_WRONG_LINES[1],
    ]
    assert list(output.iterdir()) == []


def test_absolute_project_folder_is_refused_before_anything_exists(tmp_path):
    outside = tmp_path / "elsewhere" / "project"
    result, output = render(tmp_path, project_slug=str(outside))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: project_slug={json.dumps(str(outside))} is not a single folder inside the output "
        "folder (expected a name without /, \\ or a drive, and not . or ..)"
    ], result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
    assert list(output.iterdir()) == []


@pytest.mark.parametrize(("question", "value"), INVALID_CHOICES)
def test_value_outside_a_choice_is_refused(tmp_path, question, value):
    result, output = render(tmp_path, **{question: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert f"{value} provided for choice variable {question}" in last, result.stderr
    assert list(output.iterdir()) == []


def test_value_outside_a_choice_last_line(tmp_path):
    # Cookiecutter refuses it with a traceback before any of the template's code runs; README
    # quotes this last line.
    result, output = render(tmp_path, cloud="ibm")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ValueError: ibm provided for choice variable cloud, but the choices are "
        "['azure', 'aws', 'gcp']."
    )
    assert list(output.iterdir()) == []


HOSTILE = [
    '"; import os; os.system("touch PWNED") #',
    "'''; __import__('os').system('touch PWNED'); '''",
    '""" + __import__("os").system("touch PWNED") + """',
    "$(touch PWNED) `touch PWNED`",
    'back\\slash \\" \\n',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_description_renders_as_data(tmp_path, value):
    result, output = render(tmp_path, description=value)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("PWNED")), "an answer executed"
    (project,) = output.iterdir()
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    assert bundle["variables"]["model_description"]["default"] == value


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "question", ["project_name", "reader_group", "alert_email", "dev_workspace_host"]
)
def test_hostile_answer_elsewhere_is_refused(tmp_path, question, value):
    result, output = render(tmp_path, **{question: value})
    assert result.returncode != 0
    assert not list(tmp_path.rglob("PWNED")), "an answer executed"
    assert list(output.iterdir()) == []


def test_host_of_another_cloud_warns_but_renders(tmp_path):
    azure = "https://adb-1111111111111111.1.azuredatabricks.net"
    result, output = render(tmp_path, cloud="aws", dev_workspace_host=azure)
    assert result.returncode == 0, result.stderr
    assert "WARNING: dev_workspace_host=" in result.stderr and "aws" in result.stderr
    assert list(output.iterdir())


def test_unusual_valid_answers_render(tmp_path):
    answers = {
        "project_name": "X9 Model 2026",
        "model_name": "m" + "_9" * 40,
        "uc_schema": "s" * 30,
        "dev_catalog": "c1",
        "staging_catalog": "c_2",
        "prod_catalog": "prod_catalog_3",
        "reader_group": "Data Readers (EU)",
        "developer_group": "ml@team",
        "default_branch": "trunk",
        "release_branch": "release/v1",
        "prod_workspace_host": "https://adb-9.9.azuredatabricks.net/?o=9",
    }
    result, output = render(tmp_path, **answers)
    assert result.returncode == 0, result.stderr
    (project,) = output.iterdir()
    assert project.name == "x9-model-2026"
    assert (project / "src" / "x9_model_2026").is_dir()
    bundle = yaml.safe_load((project / "databricks.yml").read_text())
    assert bundle["targets"]["prod"]["workspace"]["host"] == "https://adb-9.9.azuredatabricks.net"
    assert bundle["variables"]["model_name"]["default"] == answers["model_name"]

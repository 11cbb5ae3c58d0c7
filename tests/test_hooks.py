"""The pre-generation hook, through the cookiecutter CLI as a user runs it: every invalid answer is
refused with one line naming the question, the value and the rule, and nothing is left on disk;
hostile answers cannot inject code; unusual but valid answers render."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from variants import TEMPLATE

COOKIECUTTER = Path(sys.executable).with_name("cookiecutter")

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
    ("project_name", "a/b", 'makes the project folder "a/b", which is not a single folder'),
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
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"ERROR: {question}={json.dumps(value)} "), errors[0]
    assert rule in errors[0] and "(expected " in errors[0], errors[0]
    assert list(output.iterdir()) == [], "a refused render left files behind"
    assert [path.name for path in tmp_path.iterdir()] == ["out"], "files outside the output folder"


def test_absolute_project_folder_is_refused_before_anything_exists(tmp_path):
    outside = tmp_path / "elsewhere" / "project"
    result, output = render(tmp_path, project_slug=str(outside))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: project_slug={json.dumps(str(outside))} makes the project folder "
        f"{json.dumps(str(outside))}, which is not a single folder inside the output folder "
        "(expected a name without /, \\ or a drive, and not . or ..)"
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

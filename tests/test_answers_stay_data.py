"""Answers stay data in every rendered TOML, YAML and JSON file.

Each case renders twice with the same options: once with plain sentinel answers, once with answers a
parser could mistake for something else (an emoji, YAML keywords such as null, on, yes, numbers such
as 0x10 and 1e3, ~). Every structured file of the second render must parse to exactly the first
render's data with each sentinel replaced by its answer: an answer that comes back as a boolean,
None, a number, a surrogate pair or not at all fails.
"""

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter
from variants import TEMPLATE

ROCKET = "\U0001f680"

# Sentinels: valid for their question, unique, and no one a part of another.
SENTINELS = {
    "project_name": "zqxname",
    "model_name": "zqxmodel",
    "description": "zqxtext",
    "reader_group": "zqxgrpread",
    "developer_group": "zqxgrpdev",
    "uc_schema": "zqxschema",
    "dev_catalog": "zqxcatdev",
    "staging_catalog": "zqxcatstg",
    "prod_catalog": "zqxcatprd",
    "default_branch": "zqxbrmain",
    "release_branch": "zqxbrrel",
}
QUESTIONS = list(SENTINELS)

# (CI platform, answers in the order of QUESTIONS). Every value of the brief appears as a whole
# description; names take the YAML keywords their rules allow.
CASES = [
    (
        "github_actions",
        [
            "null",
            "yes",
            f"{ROCKET} Ship it, naïve café",
            "on",
            "~",
            "true",
            "yes",
            "no",
            "off",
            "yes",
            f"rel-{ROCKET}",
        ],
    ),
    (
        "gitlab",
        [
            "on",
            "null",
            "null",
            "1e3",
            f"{ROCKET} team",
            "null",
            "on",
            "true",
            "false",
            "null",
            "on",
        ],
    ),
    ("azure_devops", ["yes", "off", "on", "0x10", "null", "no", "y", "n", "null", "1e3", "0x10"]),
    (
        "github_actions",
        ["true", "on", "yes", "null", "yes", "on", "null", "yes", "no", "on", "null"],
    ),
    ("gitlab", ["off", "true", "0x10", "~", "on", "yes", "off", "on", "yes", "yes", "1e3"]),
    (
        "azure_devops",
        ["no", "false", "~", "yes", "0x10", "off", "true", "false", "on", "0x10", "null"],
    ),
    (
        "github_actions",
        ["false", "n", "1e3", ROCKET, "1e3", "y", "no", "null", "true", "null", "yes"],
    ),
]


def render(where, platform, answers):
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        extra_context={"cicd_platform": platform, **answers},
        output_dir=str(where),
    )
    return Path(project)


def structured_files(project):
    return sorted(
        path.relative_to(project)
        for path in project.rglob("*")
        if path.is_file() and path.suffix in (".toml", ".yml", ".yaml", ".json")
    )


def parse(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return tomllib.loads(text)
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def substitute(data, replacements):
    """`data` with every sentinel in every string (keys too) replaced by its answer."""
    if isinstance(data, str):
        for sentinel, value in replacements.items():
            data = data.replace(sentinel, value)
        return data
    if isinstance(data, dict):
        return {substitute(k, replacements): substitute(v, replacements) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(item, replacements) for item in data]
    return data


def strings(data):
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)


@pytest.fixture(scope="module")
def sentinel_renders(tmp_path_factory):
    cache = {}

    def get(platform):
        if platform not in cache:
            where = tmp_path_factory.mktemp(f"sentinel-{platform}")
            project = render(where, platform, SENTINELS)
            cache[platform] = {name: parse(project / name) for name in structured_files(project)}
        return cache[platform]

    return get


@pytest.mark.parametrize(
    ("platform", "values"), CASES, ids=[f"{p}-{v[2]!a}"[:40] for p, v in CASES]
)
def test_answers_parse_back_unchanged(tmp_path, sentinel_renders, platform, values):
    answers = dict(zip(QUESTIONS, values, strict=True))
    expected_files = sentinel_renders(platform)
    # Every answer reaches some structured file, so the comparison below covers it.
    texts = [text for data in expected_files.values() for text in strings(data)]
    unused = [q for q, sentinel in SENTINELS.items() if not any(sentinel in t for t in texts)]
    assert unused == [], f"answers found in no structured file: {unused}"

    project = render(tmp_path, platform, answers)
    assert sorted(map(str, structured_files(project))) == sorted(map(str, expected_files))
    replacements = {SENTINELS[question]: answers[question] for question in QUESTIONS}
    for name, expected in expected_files.items():
        path = project / name
        try:
            actual = parse(path)
        except Exception as error:  # a parser refusing the file is the failure being tested
            pytest.fail(f"{name} does not parse with {answers}: {error}")
        assert actual == substitute(expected, replacements), name

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == answers["description"]
    bundle = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    assert bundle["variables"]["model_description"]["default"] == answers["description"]
    assert bundle["bundle"]["name"] == answers["project_name"]
    assert bundle["targets"]["dev"]["variables"]["catalog"] == answers["dev_catalog"]


def test_answers_are_evaluated_once_only(tmp_path):
    # Cookiecutter itself renders every answer as Jinja once (README, "Security"); the template must
    # not evaluate an answer a second time. `{% raw %}` survives cookiecutter's own pass.
    literal = "Costs {{ 7*7 }} and {% if x %}x{% endif %}"
    project = render(
        tmp_path, "github_actions", {"description": "{% raw %}" + literal + "{% endraw %}"}
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == literal
    bundle = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    assert bundle["variables"]["model_description"]["default"] == literal


def test_structured_template_files_write_answers_with_quoted():
    # Jinja's `tojson` escapes non-ASCII as surrogate pairs (TOML refuses them) and HTML characters;
    # `quoted` (local_extensions.py) is the one way answers reach TOML, YAML and JSON.
    sources = [TEMPLATE / "templates" / "bundle.j2"] + [
        path
        for path in (TEMPLATE / "{{cookiecutter.project_slug}}").rglob("*")
        if path.suffix in (".toml", ".yml", ".yaml", ".json")
    ]
    offenders = [
        str(path.relative_to(TEMPLATE)) for path in sources if "tojson" in path.read_text()
    ]
    assert offenders == []

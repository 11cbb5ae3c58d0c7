{%- set fs = cookiecutter.include_feature_store == "yes" -%}
{%- set serving = cookiecutter.include_serving == "yes" -%}
{%- set monitoring = cookiecutter.include_monitoring == "yes" -%}
"""doctor against autospecced workspace clients (a wrong method or argument raises) answering in
the SDK's documented types, and the local checks against this machine."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import NonCallableMock, create_autospec

import pytest
import yaml
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import {% if serving %}BadRequest, {% endif %}NotFound, PermissionDenied
from databricks.sdk.service import catalog, {% if fs and serving %}database, {% endif %}iam, {% if fs and serving %}ml, postgres, {% endif %}{% if serving %}serving, {% endif %}workspace

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.config import CATALOGS, PROJECT{% if serving %}, Names{% endif %}
from {{ cookiecutter.package_name }}.runtime import doctor
{%- if serving %}
from {{ cookiecutter.package_name }}.serving.endpoint import endpoint_name{% if fs %}, online_store{% endif %}
{%- endif %}

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
APP_ID = "6f0c8a2e-1d3b-4c5a-9e7f-0123456789ab"
# The calls doctor may make: reads only. Anything else (create, update, delete, grant) fails.
READS = {
    "me",
    "get",
    "list",
    "get_effective",
    "get_status",
    "get_permissions",
    "current",
    "get_database_instance",
    "list_database_instances",
    "get_project",
    "list_projects",
{%- if serving and fs %}
    "get_online_store",
{%- endif %}
}


# The service APIs doctor reads; any other API of the client refuses every attribute.
APIS = {
    "current_user",
    "catalogs",
    "schemas",
    "grants",
    "groups",
    "workspace",
{%- if serving %}
    "serving_endpoints",
{%- if fs %}
    "feature_store",
    "database",
    "postgres",
{%- endif %}
{%- endif %}
{%- if monitoring %}
    "tables",
    "metastores",
{%- endif %}
}


def workspace_client() -> Any:
    """create_autospec(WorkspaceClient), with the service APIs autospecced too: they are
    properties, which autospec alone leaves as plain mocks that accept any call."""
    client = create_autospec(WorkspaceClient, instance=True)
    for name, prop in inspect.getmembers(WorkspaceClient, lambda m: isinstance(m, property)):
        if name in APIS:
            api = typing.get_type_hints(prop.fget)["return"]
            setattr(client, name, create_autospec(api, instance=True))
        else:
            setattr(client, name, NonCallableMock(spec_set=[]))
    return client


def calls(client: Any) -> list[str]:
    """``api.method`` of every call made on the client."""
    return [".".join(name.split(".")[:2]) for name, _, _ in client.mock_calls]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CI, no Databricks configuration, no variable overrides from the machine running tests."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "BUNDLE_VAR_")) or name in (
            doctor.CI_VARIABLE,
            doctor.PRINCIPAL_VARIABLE,
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def staging() -> doctor.BundleTarget:
    return doctor.load_bundle(ROOT, "staging", {})


def me(user_name: str = APP_ID, groups: tuple[str, ...] = ()) -> iam.User:
    return iam.User(
        user_name=user_name,
        display_name="deployer",
        groups=[iam.ComplexValue(display=group, type="direct") for group in groups],
    )


def privileges(principal: str, *names: str) -> catalog.EffectivePermissionsList:
    return catalog.EffectivePermissionsList(
        privilege_assignments=[
            catalog.EffectivePrivilegeAssignment(
                principal=principal,
                privileges=[
                    catalog.EffectivePrivilege(privilege=catalog.Privilege(n)) for n in names
                ],
            )
        ]
    )


def ready(bundle: doctor.BundleTarget, user: iam.User | None = None) -> Any:
    """A workspace where everything the target needs is in place (first deploy: no schema yet)."""
    user = user or me()
    client = workspace_client()
    client.current_user.me.return_value = user
    client.catalogs.get.return_value = catalog.CatalogInfo(name=bundle.catalog, owner="admins")
    client.schemas.get.side_effect = NotFound("Schema does not exist.")
    client.grants.get_effective.return_value = privileges(
        user.user_name, "USE_CATALOG", "CREATE_SCHEMA"
    )

    def groups(filter: str, attributes: str) -> list[iam.Group]:
        name = filter.split('"')[1]
        return [iam.Group(display_name=name, meta=iam.ResourceMeta(resource_type="Group"))]

    client.groups.list.side_effect = groups
    home = f"/Users/{user.user_name}"

    def status(path: str) -> workspace.ObjectInfo:
        if path != home:
            raise NotFound(f"Path ({path}) doesn't exist.")
        return workspace.ObjectInfo(
            path=path, object_id=42, object_type=workspace.ObjectType.DIRECTORY
        )

    client.workspace.get_status.side_effect = status
{%- if serving %}
    client.serving_endpoints.list.return_value = iter([])
    client.serving_endpoints.get.side_effect = NotFound("Endpoint does not exist.")
{%- if fs %}
    client.feature_store.get_online_store.side_effect = NotFound("Online store does not exist.")
    client.postgres.get_project.side_effect = NotFound("Project does not exist.")
    client.postgres.list_projects.return_value = iter([])
    client.database.get_database_instance.side_effect = NotFound("Instance does not exist.")
    client.database.list_database_instances.return_value = iter([])
{%- endif %}
{%- endif %}
{%- if monitoring %}
    client.tables.get.return_value = catalog.TableInfo(full_name="system.access.audit")
{%- endif %}
    return client


def diagnose(bundle: doctor.BundleTarget, client: Any, env: dict[str, str] | None = None) -> Any:
    report = doctor.diagnose(bundle.target, env or {}, ROOT, lambda host: client)
    made = calls(client)
    assert made, "no call reached the workspace"
    assert {call.split(".")[1] for call in made} <= READS, made
    return report


def status_of(report: Any, prefix: str) -> doctor.Check:
    (check,) = [c for c in report.checks if c.name.startswith(prefix)]
    return check


def test_the_target_comes_from_the_bundle(staging: doctor.BundleTarget) -> None:
    assert staging.catalog == CATALOGS["staging"]
    assert staging.host.startswith("https://")
    assert not staging.host.endswith("/")
    assert not staging.development
    assert doctor.load_bundle(ROOT, "dev", {}).development
    # The groups the bundle grants to: its variables' defaults.
    variables = yaml.safe_load((ROOT / "databricks.yml").read_text())["variables"]
    groups = (variables["reader_group"]["default"], variables["developer_group"]["default"])
    assert staging.groups == groups
    assert staging.experiment.endswith(
        f"/.bundle/{PROJECT}/staging/{staging.model_name}_experiment"
    )
    assert "${workspace.current_user.userName}" in staging.experiment
    # A variable set in the environment wins, as it does for the CLI.
    changed = doctor.load_bundle(ROOT, "staging", {"BUNDLE_VAR_catalog": "other"})
    assert changed.catalog == "other"
    assert doctor.load_bundle(ROOT, None, {}).target == "dev"  # the bundle's default target
    with pytest.raises(doctor.DoctorError, match="no target 'nope'"):
        doctor.load_bundle(ROOT, "nope", {})


def test_a_ready_workspace_passes_with_read_calls_only(staging: doctor.BundleTarget) -> None:
    client = ready(staging)
    report = diagnose(staging, client)
    assert report.ok
    assert report.identity == APP_ID
    statuses = {check.name: check.status for check in report.checks}
    # Outside CI doctor cannot tell whether the CI principal is ready: it checks the caller.
    assert statuses.pop("deploying identity") == doctor.UNKNOWN
    assert set(statuses.values()) == {doctor.OK}, report.as_text()
    names = [check.name for check in report.checks]
    assert names[:3] == ["sign-in", "deploying identity", f"catalog {staging.catalog}"]
    assert f"schema {staging.catalog}.{staging.schema}" in names
    for group in staging.groups:
        assert f"group {group}" in names
    client.catalogs.get.assert_called_once_with(staging.catalog)
    client.grants.get_effective.assert_called_once_with(
        "catalog", staging.catalog, max_results=0, page_token=None
    )
{%- if serving %}
    endpoint = endpoint_name(Names(staging.catalog, staging.schema, staging.model_name))
    client.serving_endpoints.get.assert_called_once_with(endpoint)
{%- if fs %}
    client.postgres.get_project.assert_called_once_with(f"projects/{online_store('staging')}")
    client.database.get_database_instance.assert_called_once_with(online_store("staging"))
    client.postgres.list_projects.assert_called_once_with(page_size=1)
{%- endif %}
{%- endif %}


def test_privileges_through_a_group_and_across_pages_count(staging: doctor.BundleTarget) -> None:
    client = ready(staging, me(groups=("deployers",)))
    client.grants.get_effective.side_effect = [
        catalog.EffectivePermissionsList(privilege_assignments=[], next_page_token="2"),
        privileges("deployers", "USE_CATALOG", "CREATE_SCHEMA"),
    ]
    report = diagnose(staging, client)
    assert status_of(report, "schema").status == doctor.OK
    assert client.grants.get_effective.call_args.kwargs["page_token"] == "2"


def denied(message: str = "User does not have permission.") -> PermissionDenied:
    return PermissionDenied(message)


def gone(message: str = "does not exist") -> NotFound:
    return NotFound(message)


def set_effect(attribute: str, effect: Any) -> Callable[[Any], None]:
    def mutate(client: Any) -> None:
        api, method = attribute.split(".")
        getattr(getattr(client, api), method).side_effect = effect

    return mutate


def set_value(attribute: str, value: Any) -> Callable[[Any], None]:
    def mutate(client: Any) -> None:
        api, method = attribute.split(".")
        getattr(getattr(client, api), method).side_effect = None
        getattr(getattr(client, api), method).return_value = value

    return mutate


def groups_found(*found: iam.Group) -> Callable[[Any], None]:
    return set_value("groups.list", list(found))


def both(*changes: Callable[[Any], None]) -> Callable[[Any], None]:
    def mutate(client: Any) -> None:
        for change in changes:
            change(client)

    return mutate


def only_folder(path: str) -> Callable[[Any], None]:
    def status(asked: str) -> workspace.ObjectInfo:
        if asked != path:
            raise gone()
        return workspace.ObjectInfo(path=path, object_id=1)

    return set_effect("workspace.get_status", status)


OTHERS_SCHEMA = set_value("schemas.get", catalog.SchemaInfo(name="s", owner="x@example.com"))
LOCAL_GROUP = iam.Group(display_name="g", meta=iam.ResourceMeta(resource_type="WorkspaceGroup"))
{%- if serving %}


def endpoint(project: str, level: str) -> Callable[[Any], None]:
    found = serving.ServingEndpointDetailed(
        name="x",
        id="abc123",
        tags=[
            serving.EndpointTag(key="project", value=project),
            serving.EndpointTag(key="target", value="staging"),
        ],
        permission_level=serving.ServingEndpointDetailedPermissionLevel(level),
    )
    return set_value("serving_endpoints.get", found)
{%- if fs %}


def known_store(creator: str) -> Callable[[Any], None]:
    """The store as the Feature Store API knows it, whichever Lakebase holds it."""
    state = ml.OnlineStoreState.AVAILABLE
    found = ml.OnlineStore(name="s", capacity="CU_1", creator=creator, state=state)
    return set_value("feature_store.get_online_store", found)


def instance(creator: str) -> Callable[[Any], None]:
    state = database.DatabaseInstanceState.AVAILABLE
    found = database.DatabaseInstance(name="s", creator=creator, state=state)
    return set_value("database.get_database_instance", found)


def project(owner: str, deleted: bool = False) -> Callable[[Any], None]:
    """A Lakebase Autoscaling project named after the store, as get_project answers it."""
    found = postgres.Project.from_dict(
        {
            "name": "projects/s",
            "status": {"owner": owner, "project_id": "s"},
            **({"delete_time": "2026-01-01T00:00:00Z"} if deleted else {}),
        }
    )
    return set_value("postgres.get_project", found)
{%- endif %}
{%- endif %}


MISSING, OK, UNKNOWN = doctor.MISSING, doctor.OK, doctor.UNKNOWN
# (case, change to the ready workspace, the check it affects, its status, words of its fix)
CASES = [
    ("no catalog", set_effect("catalogs.get", gone()), "catalog", MISSING, "CREATE CATALOG"),
    ("catalog unusable", set_effect("catalogs.get", denied()), "catalog", MISSING, "USE CATALOG"),
    (
        "no CREATE SCHEMA",
        set_value("grants.get_effective", privileges(APP_ID, "USE_CATALOG")),
        "schema",
        MISSING,
        "CREATE SCHEMA ON CATALOG",
    ),
    ("grants unreadable", set_effect("grants.get_effective", denied()), "schema", UNKNOWN, "GRANT"),
    (
        "my schema",
        set_value("schemas.get", catalog.SchemaInfo(name="s", owner=APP_ID)),
        "schema",
        OK,
        "",
    ),
    (
        "schema of others",
        both(OTHERS_SCHEMA, set_value("grants.get_effective", privileges(APP_ID, "USE_SCHEMA"))),
        "schema",
        MISSING,
        "ALTER SCHEMA",
    ),
    (
        "schema I manage",
        both(OTHERS_SCHEMA, set_value("grants.get_effective", privileges(APP_ID, "MANAGE"))),
        "schema",
        OK,
        "",
    ),
    ("schema hidden", set_effect("schemas.get", denied()), "schema", MISSING, "deployment bind"),
    ("no group", groups_found(), "group", MISSING, "account group"),
    ("local group", groups_found(LOCAL_GROUP), "group", MISSING, "account group"),
    ("groups unlisted", set_effect("groups.list", denied()), "group", UNKNOWN, "account group"),
    ("home hidden", set_effect("workspace.get_status", denied()), "experiment", UNKNOWN, ""),
    ("no home yet", only_folder("/Users"), "experiment", UNKNOWN, "admin"),
{%- if serving %}
    (
        "no serving",
        set_effect("serving_endpoints.list", BadRequest("FEATURE_DISABLED")),
        "model serving",
        MISSING,
        "region",
    ),
    ("serving hidden", set_effect("serving_endpoints.list", denied()), "model", UNKNOWN, ""),
    ("name taken", endpoint("other", "CAN_MANAGE"), "endpoint", MISSING, "delete"),
    ("our endpoint", endpoint(PROJECT, "CAN_MANAGE"), "endpoint", OK, ""),
    ("ours, query only", endpoint(PROJECT, "CAN_QUERY"), "endpoint", MISSING, "abc123"),
    ("name hidden", set_effect("serving_endpoints.get", denied()), "endpoint", UNKNOWN, "delete"),
{%- if fs %}
    ("store known", known_store(APP_ID), "online store", OK, ""),
    ("store known, of others", known_store("x@example.com"), "online store", UNKNOWN, "CAN_MANAGE"),
    (
        "store api hidden",
        set_effect("feature_store.get_online_store", denied()),
        "online store",
        UNKNOWN,
        "creator",
    ),
    ("project exists", project(APP_ID), "online store", OK, ""),
    ("project of others", project("x@example.com"), "online store", UNKNOWN, "CAN_MANAGE"),
    ("project deleted", project(APP_ID, deleted=True), "online store", MISSING, "restores"),
    ("project hidden", set_effect("postgres.get_project", denied()), "online", UNKNOWN, "creator"),
    ("store exists", instance(APP_ID), "online store", OK, ""),
    ("store of others", instance("x@example.com"), "online store", UNKNOWN, "CAN_MANAGE"),
    (
        "no Lakebase",
        both(
            set_effect("postgres.list_projects", BadRequest("not enabled")),
            set_effect("database.list_database_instances", BadRequest("not enabled")),
        ),
        "online store",
        MISSING,
        "Lakebase",
    ),
    (
        "only Provisioned",
        set_effect("postgres.list_projects", BadRequest("not enabled")),
        "online store",
        UNKNOWN,
        "Autoscaling",
    ),
    (
        "projects unlisted",
        set_effect("postgres.list_projects", denied()),
        "online store",
        UNKNOWN,
        "Lakebase",
    ),
    ("store hidden", set_effect("database.get_database_instance", denied()), "online", UNKNOWN, ""),
{%- endif %}
{%- endif %}
{%- if monitoring %}
    ("audit denied", set_effect("tables.get", denied()), "table system.access", MISSING, "SELECT"),
    (
        "audit not enabled",
        both(
            set_effect("tables.get", gone()),
            set_value("metastores.current", catalog.MetastoreAssignment(1, "ms-1")),
        ),
        "table system.access",
        MISSING,
        "system-schemas enable ms-1 access",
    ),
{%- endif %}
]


@pytest.mark.parametrize(
    ("case", "change", "check", "status", "fix"), CASES, ids=[c[0] for c in CASES]
)
def test_each_check_reports_what_it_finds(
    staging: doctor.BundleTarget,
    case: str,
    change: Callable[[Any], None],
    check: str,
    status: str,
    fix: str,
) -> None:
    client = ready(staging)
    change(client)
    report = diagnose(staging, client)
    found = [c for c in report.checks if c.name.startswith(check)]
    assert found
    assert {c.status for c in found} == {status}, report.as_text()
    assert all(fix in c.fix for c in found), found
    others = [c for c in report.checks if c not in found and c.name != "deploying identity"]
    assert {c.status for c in others} == {doctor.OK}, report.as_text()
    assert report.ok == (status != doctor.MISSING)


{%- if serving and fs %}


LAKEBASE_CASES = [
    (
        "known to the Feature Store API",
        known_store(APP_ID),
        OK,
        ("online store (AVAILABLE)", "created by you"),
        [],
    ),
    (
        "Autoscaling found",
        project(APP_ID),
        OK,
        ("Lakebase Autoscaling project projects/s", "owned by you"),
        ["postgres.get_project"],
    ),
    (
        "Provisioned found",
        instance(APP_ID),
        OK,
        ("Lakebase Provisioned instance (AVAILABLE)", "created by you"),
        ["postgres.get_project", "database.get_database_instance"],
    ),
    (
        "none found, Lakebase answers",
        both(),
        OK,
        ("neither", "do not say", "Lakebase answers"),
        ["postgres.get_project", "database.get_database_instance", "postgres.list_projects"],
    ),
    (
        "permission denied",
        set_effect("postgres.get_project", denied()),
        UNKNOWN,
        ("may not see it",),
        ["postgres.get_project"],
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "status", "words", "asked"),
    LAKEBASE_CASES,
    ids=[c[0] for c in LAKEBASE_CASES],
)
def test_the_online_store_check_says_which_lakebase_holds_it(
    staging: doctor.BundleTarget,
    case: str,
    change: Callable[[Any], None],
    status: str,
    words: tuple[str, ...],
    asked: list[str],
) -> None:
    """Autoscaling first (new stores), then Provisioned; the detail names the kind it found."""
    client = ready(staging)
    change(client)
    check = status_of(diagnose(staging, client), "online store")
    assert check.status == status, check
    assert all(word in check.detail for word in words), check
    lakebase = [call for call in calls(client) if call.split(".")[0] in ("postgres", "database")]
    assert lakebase == asked
{%- endif %}


def test_an_experiment_folder_outside_the_home_needs_edit_rights(
    staging: doctor.BundleTarget,
) -> None:
    bundle = dataclasses.replace(staging, experiment="/Workspace/Shared/team/experiments/m")
    user = me(groups=("deployers",))
    client = ready(bundle, user)
    shared = workspace.ObjectInfo(path="/Shared", object_id=7)

    def status(path: str) -> workspace.ObjectInfo:
        if path != "/Shared":
            raise gone()
        return shared

    client.workspace.get_status.side_effect = status

    def folder(level: str) -> doctor.Check:
        permission = workspace.WorkspaceObjectPermission(
            permission_level=workspace.WorkspaceObjectPermissionLevel(level), inherited=False
        )
        entry = workspace.WorkspaceObjectAccessControlResponse(
            group_name="deployers", all_permissions=[permission]
        )
        acl = workspace.WorkspaceObjectPermissions(access_control_list=[entry])
        client.workspace.get_permissions.return_value = acl
        return doctor.WorkspaceChecks(client, bundle, user, {}).experiment_folder()

    assert folder("CAN_EDIT").status == doctor.OK
    assert folder("CAN_READ").status == doctor.MISSING
    client.workspace.get_permissions.assert_called_with("directories", "7")
    client.workspace.get_status.assert_any_call("/Shared/team/experiments")
    client.workspace.get_permissions.side_effect = denied()
    assert folder("CAN_EDIT").status == doctor.UNKNOWN
    assert {call.split(".")[1] for call in calls(client)} <= READS


def test_development_mode_checks_the_prefixed_schema() -> None:
    dev = doctor.load_bundle(ROOT, "dev", {})
    client = ready(dev, me("jane.doe@example.com"))
    report = diagnose(dev, client)
    assert report.ok, report.as_text()
    client.schemas.get.assert_called_once_with(f"{dev.catalog}.dev_jane_doe_{dev.schema}")
    assert "deploying identity" not in [check.name for check in report.checks]
    assert doctor.dev_prefix(APP_ID, "CI Deployer (staging)") == "dev_ci_deployer_staging_"


def test_the_deploying_identity_in_ci(staging: doctor.BundleTarget) -> None:
    ci = {doctor.CI_VARIABLE: "true"}
    client = ready(staging)
    expected = {**ci, doctor.PRINCIPAL_VARIABLE: APP_ID}
    check = status_of(diagnose(staging, client, expected), "deploying")
    assert check.status == doctor.OK
    other = {**ci, doctor.PRINCIPAL_VARIABLE: "00000000-0000-0000-0000-000000000000"}
    check = status_of(diagnose(staging, ready(staging), other), "deploying")
    assert check.status == doctor.MISSING
    assert doctor.PRINCIPAL_VARIABLE in check.detail
    check = status_of(diagnose(staging, ready(staging), ci), "deploying")
    assert check.status == doctor.MISSING
    assert doctor.PRINCIPAL_VARIABLE in check.detail


@pytest.mark.parametrize("in_ci", [False, True], ids=["laptop", "ci"])
def test_a_failed_sign_in_says_how_to_sign_in(staging: doctor.BundleTarget, in_ci: bool) -> None:
    client = workspace_client()
    # What the SDK raises when the token exchange is refused (oauth.retrieve_token).
    refused = ValueError("invalid_request: no matching federation policy")
    client.current_user.me.side_effect = refused
    env = {doctor.CI_VARIABLE: "true", doctor.PRINCIPAL_VARIABLE: APP_ID} if in_ci else {}
    report = doctor.diagnose("staging", env, ROOT, lambda host: client)
    (check,) = report.checks
    assert (check.name, check.status, report.ok) == ("sign-in", doctor.MISSING, False)
    assert "no matching federation policy" in check.detail
    if in_ci:
        assert "README" in check.fix
        assert "databricks auth login" not in check.fix
    else:
        assert f"databricks auth login --host {staging.host}" in check.fix


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["doctor", *argv])
    return code, capsys.readouterr().out


def test_exit_code_and_json_shape(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    staging: doctor.BundleTarget,
) -> None:
    monkeypatch.chdir(ROOT)
    client = ready(staging)
    monkeypatch.setattr(doctor, "connect", lambda host: client)
    code, out = run_cli(capsys, "--target", "staging", "--json")
    result = json.loads(out)
    assert code == 0
    assert result["ok"] is True
    assert set(result) == {"target", "where", "identity", "ok", "notes", "checks"}
    assert result["target"] == "staging"
    assert result["where"] == staging.host
    assert result["identity"] == APP_ID
    for check in result["checks"]:
        assert set(check) == {"name", "status", "detail", "fix"}
        assert check["status"] in (doctor.OK, doctor.MISSING, doctor.UNKNOWN)

    client.catalogs.get.side_effect = gone()
    code, out = run_cli(capsys, "--target", "staging")
    assert code == 1
    lines = out.splitlines()
    (failed,) = [i for i, line in enumerate(lines) if line.strip().startswith(doctor.MISSING)]
    assert lines[failed + 1].strip().startswith("fix: ")
    assert "CREATE CATALOG" in lines[failed + 1]
    assert lines[-1].startswith("doctor: NOT ready")

    assert run_cli(capsys, "--target", "nope")[0] == 2


def test_without_a_workspace_doctor_checks_this_machine() -> None:
    assert doctor.diagnose(None, {}).target == doctor.LOCAL
    client = ready(doctor.load_bundle(ROOT, "dev", {}), me("jane@example.com"))
    configured = doctor.diagnose(None, {"DATABRICKS_CONFIG_PROFILE": "x"}, ROOT, lambda h: client)
    assert configured.target == "dev"


def test_local_checks_on_this_machine(tmp_path: Path) -> None:
    checks = {check.name: check for check in doctor.local_checks(tmp_path / ".local")}
    statuses = [checks[name].status for name in ("python", "java", "disk", "pyspark")]
    assert statuses == [doctor.OK] * 4, checks
    assert "satisfies >=" in checks["python"].detail
    assert checks["java"].detail.startswith("Java ")
    check = doctor.disk_check(tmp_path / ".local", minimum=10**18)
    assert check.status == doctor.MISSING
    assert "floor" in check.detail
    assert doctor.python_check((3, 8, 0)).status == doctor.MISSING


def fake_java(folder: Path, version: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-01' >&2\n")
    java.chmod(0o755)
    return folder


def test_java_missing_or_too_old(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check = doctor.java_check({"PATH": str(empty)})
    assert check.status == doctor.MISSING
    assert "openjdk-17" in check.fix
    for version, status in (
        ("11.0.2", doctor.MISSING),
        ("1.8.0_392", doctor.MISSING),
        ("21.0.1", doctor.OK),
    ):
        home = fake_java(tmp_path / version, version)
        assert doctor.java_check({"JAVA_HOME": str(home), "PATH": str(empty)}).status == status


def test_doctor_runs_without_spark(tmp_path: Path) -> None:
    # CI installs the package without its dev extra: `python -m <package> doctor` must not import
    # Spark or the lifecycle (stand-ins that fail on import shadow the real packages).
    for blocked in ("pyspark", "mlflow", "sklearn"):
        (tmp_path / blocked).mkdir()
        stand_in = f"raise ImportError('{blocked} imported')\n"
        (tmp_path / blocked / "__init__.py").write_text(stand_in)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", PACKAGE, "doctor", "--target", "local", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "imported" not in result.stderr, result.stderr
    assert json.loads(result.stdout)["target"] == "local"

"""Rendered SQL files parse as Databricks SQL, and the access audit asks what it should."""

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

AUDIT = "sql/access_audit.sql"
# Documented columns of system.access.audit the audit query relies on.
AUDIT_COLUMNS = {
    "event_time",
    "service_name",
    "action_name",
    "user_identity.email",
    "request_params",
    "response.status_code",
    "response.error_message",
}


def sql_files(project):
    return sorted(path.relative_to(project).as_posix() for path in project.rglob("*.sql"))


def parse(project, name):
    statements = sqlglot.parse(
        (project / name).read_text(), read="databricks", error_level=ErrorLevel.RAISE
    )
    assert statements and all(statements), f"{name}: no statement"
    return statements


def test_sql_files_are_the_expected_ones(project, answers):
    expected = [AUDIT] if answers["include_monitoring"] == "yes" else []
    assert sql_files(project) == expected


def test_every_sql_file_parses_as_databricks_sql(project):
    for name in sql_files(project):
        parse(project, name)


def test_access_audit_reads_denied_requests_of_the_project(project, answers):
    if answers["include_monitoring"] != "yes":
        assert not (project / AUDIT).exists()
        return
    (query,) = parse(project, AUDIT)
    assert isinstance(query, exp.Select)
    assert {table.sql("databricks") for table in query.find_all(exp.Table)} == {
        "system.access.audit"
    }
    columns = {column.sql("databricks") for column in query.find_all(exp.Column)}
    assert AUDIT_COLUMNS <= columns, AUDIT_COLUMNS - columns
    # Catalog, schema and look-back are parameters bound by the monitor command, never literals.
    assert {p.name for p in query.find_all(exp.Placeholder)} == {
        "catalog",
        "schema",
        "lookback_hours",
    }
    for catalog in (answers[f"{t}_catalog"] for t in ("dev", "staging", "prod")):
        assert f"'{catalog}'" not in query.sql("databricks")
    where = query.args["where"].sql("databricks")
    assert "IN (401, 403)" in where
    assert "PERMISSION_DENIED" in where
    assert "service_name = 'unityCatalog'" in where

"""Rendered SQL files parse as Databricks SQL, and the access audit asks what it should."""

import re

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


# Documented columns of system.access.table_lineage the README's lineage query relies on.
LINEAGE_COLUMNS = {
    "source_table_full_name",
    "target_table_full_name",
    "target_table_catalog",
    "target_table_schema",
    "entity_type",
    "event_time",
    "event_date",
}


def readme_sql_blocks(project):
    text = (project / "README.md").read_text()
    return [
        "\n".join(line.strip() for line in block.splitlines())
        for block in re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    ]


def test_readme_sql_parses_and_the_lineage_query_is_real(project):
    blocks = readme_sql_blocks(project)
    statements = [
        statement
        for block in blocks
        for statement in sqlglot.parse(block, read="databricks", error_level=ErrorLevel.RAISE)
    ]
    selects = [s for s in statements if isinstance(s, exp.Select)]
    lineage = [
        s
        for s in selects
        if {t.sql("databricks") for t in s.find_all(exp.Table)} == {"system.access.table_lineage"}
    ]
    assert len(lineage) == 1, "the README shows one lineage query"
    columns = {column.sql("databricks") for column in lineage[0].find_all(exp.Column)}
    assert columns <= LINEAGE_COLUMNS, columns - LINEAGE_COLUMNS

"""Validate the answers before anything is rendered.

Validation only: standard library, no network, deterministic, and it never changes an answer (cruft
replays the stored answers on every update, so a hook that rewrote them would fight every upgrade).
Choice questions need no check here: cookiecutter refuses a value outside the list itself.
Each failure prints one line ``ERROR: <question>=<value> <rule> (expected ...)`` and exits 1;
cookiecutter then removes the half-made output folder. The question named is the one the user
answered: a derived name that kept its default (slug, package, model) is reported through the
answer it came from.
"""

import json
import keyword
import re
import sys

# Every answer arrives as JSON, never pasted into Python source: quotes, backslashes, newlines or
# `$(...)` in an answer stay data.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# Unity Catalog names that need no quoting anywhere (SQL, bundle, MLflow URIs).
UC_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
UC_MAX_NAME = 255
# Development mode prefixes bundle-managed names (schema, model) with `dev_<user short name>_`.
DEV_PREFIX_HEADROOM = 40
# The longest object the project derives from the model name: the monitor's metric table.
LONGEST_DERIVED_SUFFIX = "_predictions_profile_metrics"
# Online feature tables (serving with the feature store) live in Postgres: 63 bytes per name part.
ONLINE_MAX_PART = 63
RESERVED_CATALOG_PREFIXES = ("system", "sys", "databricks")
RESERVED_CATALOGS = ("hive_metastore",)
RESERVED_SCHEMAS = ("information_schema", "builtin", "session")

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
HOST = re.compile(
    r"https://(?P<host>[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)"
    r"/?(\?o=[0-9]+)?"
)
CLOUD_HOST_SUFFIXES = {
    "azure": (".azuredatabricks.net",),
    "aws": (".cloud.databricks.com", ".cloud.databricks.us", ".cloud.databricks.mil"),
    "gcp": (".gcp.databricks.com",),
}
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Not one line of text in every rendered format: controls (C0, DEL, C1), the characters YAML reads
# as line breaks (U+0085, U+2028, U+2029) or refuses (U+FEFF, U+FFFE, U+FFFF), and lone surrogates
# (bytes of an answer that were not UTF-8).
NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
# The bundle resolves `${...}` anywhere in its files, including the variable defaults answers go to.
BUNDLE_REFERENCE = "${"


# Derived answers, each with the answer it is derived from and the default of cookiecutter.json.
DERIVED = {
    "project_slug": ("project_name", lambda name: name.lower().replace(" ", "-")),
    "package_name": ("project_slug", lambda slug: slug.replace("-", "_")),
    "model_name": ("package_name", lambda package: package),
}


def typed(question):
    """The question the user answered for `question`: the one it was derived from, if it was."""
    while question in DERIVED:
        source, derive = DERIVED[question]
        if ANSWERS[question] != derive(ANSWERS[source]):
            break
        question = source
    return question


def show(value):
    return json.dumps(value, ensure_ascii=True)


class InvalidAnswer(Exception):
    def __init__(self, question, rule, expected):
        # A derived answer is reported as the answer the user typed, naming what it gave.
        asked = typed(question)
        if asked != question:
            rule = f"gives {question}={show(ANSWERS[question])}, which {rule}"
        super().__init__(f"ERROR: {asked}={show(ANSWERS.get(asked))} {rule} (expected {expected})")


def require(ok, question, rule, expected):
    if not ok:
        raise InvalidAnswer(question, rule, expected)


def check_every_answer():
    # Rules for every answer the user typed, before the rules of each question (a derived answer
    # that kept its default is checked through the answer it came from).
    for question, value in ANSWERS.items():
        if question.startswith("_") or not isinstance(value, str) or typed(question) != question:
            continue
        require(
            not NOT_TEXT.search(value),
            question,
            "contains a newline, control character or non-text character",
            "one line of printable UTF-8 text",
        )
        require(
            BUNDLE_REFERENCE not in value,
            question,
            "contains ${, which starts a bundle reference (the bundle would resolve it)",
            "text without ${",
        )


def check_text(question, max_length):
    value = ANSWERS[question]
    require(value.strip() != "", question, "is empty", "some text")
    require(len(value) <= max_length, question, "is too long", f"at most {max_length} characters")


def check_uc_identifier(question):
    value = ANSWERS[question]
    require(
        UC_IDENTIFIER.fullmatch(value) is not None,
        question,
        "is not a Unity Catalog name that needs no quoting",
        "lower-case ASCII letters, digits and underscores, starting with a letter",
    )


def check_catalog(question):
    check_uc_identifier(question)
    value = ANSWERS[question]
    require(
        not value.startswith(RESERVED_CATALOG_PREFIXES) and value not in RESERVED_CATALOGS,
        question,
        "is a reserved catalog name",
        "a name not starting with system, sys or databricks, and not hive_metastore",
    )


def check_schema():
    check_uc_identifier("uc_schema")
    require(
        ANSWERS["uc_schema"] not in RESERVED_SCHEMAS,
        "uc_schema",
        "is a reserved schema name",
        "a name other than " + ", ".join(RESERVED_SCHEMAS),
    )


def check_name_lengths():
    # Checked once all parts are known valid; the longest catalog decides.
    prefix = "dev_" + "u" * (DEV_PREFIX_HEADROOM - 5) + "_"
    catalog = max((ANSWERS[q] for q in ("dev_catalog", "staging_catalog", "prod_catalog")), key=len)
    longest = (
        f"{catalog}.{prefix}{ANSWERS['uc_schema']}.{prefix}{ANSWERS['model_name']}"
        f"{LONGEST_DERIVED_SUFFIX}"
    )
    require(
        len(longest) <= UC_MAX_NAME,
        "model_name",
        f"makes the longest derived name {len(longest)} characters long",
        f"catalog.schema.model{LONGEST_DERIVED_SUFFIX} within {UC_MAX_NAME} characters including "
        "development-mode prefixes; shorten the model, schema or catalog name",
    )


def check_online_name_parts():
    if ANSWERS["include_serving"] != "yes" or ANSWERS["include_feature_store"] != "yes":
        return
    for question in ("uc_schema", "dev_catalog", "staging_catalog", "prod_catalog"):
        require(
            len(ANSWERS[question]) <= ONLINE_MAX_PART,
            question,
            "is too long for an online feature table name (serving with the feature store)",
            f"at most {ONLINE_MAX_PART} characters",
        )


def check_distinct_catalogs():
    seen = {}
    for question in ("dev_catalog", "staging_catalog", "prod_catalog"):
        other = seen.setdefault(ANSWERS[question], question)
        require(
            other == question,
            question,
            f"is the same catalog as {other}",
            "one catalog per target",
        )


def check_host(question):
    value = ANSWERS[question]
    match = HOST.fullmatch(value)
    require(
        match is not None,
        question,
        "is not a Databricks workspace URL",
        "https://<workspace host>, optionally ending in / or ?o=<workspace id>",
    )
    cloud = ANSWERS["cloud"]
    if not match.group("host").endswith(CLOUD_HOST_SUFFIXES[cloud]):
        print(
            f"WARNING: {question}={json.dumps(value)} does not look like a {cloud} workspace host "
            f"(usually ending in {' or '.join(CLOUD_HOST_SUFFIXES[cloud])})",
            file=sys.stderr,
        )


def check_group(question):
    value = ANSWERS[question]
    check_text(question, 255)
    require(
        not any(character in value for character in "`'\""),
        question,
        "contains a quote or backtick",
        "a group name without ` ' or \"",
    )
    require(value == value.strip(), question, "has leading or trailing spaces", "a trimmed name")


def check_email():
    require(
        EMAIL.fullmatch(ANSWERS["alert_email"]) is not None,
        "alert_email",
        "is not a plausible e-mail address",
        "name@domain.tld",
    )


def check_branch(question):
    # The rules of `git check-ref-format --branch`, without calling git (hooks need no tools).
    value = ANSWERS[question]
    components = value.split("/")
    valid = (
        value != ""
        and value != "@"
        and not value.startswith("-")
        and not value.endswith((".", "/", ".lock"))
        and ".." not in value
        and "@{" not in value
        and not CONTROL.search(value)
        and not any(character in value for character in " ~^:?*[\\")
        and all(
            part and not part.startswith(".") and not part.endswith(".lock") for part in components
        )
    )
    require(
        valid,
        question,
        "is not a valid git branch name",
        "a name `git check-ref-format --branch` accepts",
    )


def check_slug_and_package():
    require(
        SLUG.fullmatch(ANSWERS["project_slug"]) is not None,
        "project_slug",
        "is not a valid repository folder name",
        "lower-case letters and digits in words joined by single hyphens, starting with a letter",
    )
    package = ANSWERS["package_name"]
    require(
        PACKAGE.fullmatch(package) is not None,
        "package_name",
        "is not a valid Python package name",
        "lower-case ASCII letters, digits and underscores, starting with a letter",
    )
    require(not keyword.iskeyword(package), "package_name", "is a Python keyword", "another name")
    require(
        package not in sys.stdlib_module_names and package not in ("test", "tests", "notebooks"),
        "package_name",
        "shadows a standard-library or project module",
        "a name that is not already importable",
    )


def check_project_name():
    check_text("project_name", 80)
    require(
        not any(character in ANSWERS["project_name"] for character in "\"'`\\{}"),
        "project_name",
        "contains a quote, backslash or brace",
        "a plain name such as Churn Model",
    )


def validate():
    check_every_answer()
    check_project_name()
    check_text("description", 300)
    check_slug_and_package()
    check_uc_identifier("model_name")
    check_schema()
    for question in ("dev_catalog", "staging_catalog", "prod_catalog"):
        check_catalog(question)
    check_distinct_catalogs()
    check_name_lengths()
    check_online_name_parts()
    for question in ("dev_workspace_host", "staging_workspace_host", "prod_workspace_host"):
        check_host(question)
    for question in ("reader_group", "developer_group"):
        check_group(question)
    check_email()
    for question in ("default_branch", "release_branch"):
        check_branch(question)
    require(
        ANSWERS["release_branch"] != ANSWERS["default_branch"],
        "release_branch",
        "is the same as default_branch",
        "a separate branch that moves only on release",
    )


if __name__ == "__main__":
    try:
        validate()
    except InvalidAnswer as error:
        print(error, file=sys.stderr)
        sys.exit(1)

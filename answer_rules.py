"""The rules every answer must pass: the one source of them.

Plain Python (standard library only), deterministic, no I/O: `check(answers)` returns the findings
and never changes an answer (cruft replays the stored answers on every update, so a check that
rewrote them would fight every upgrade). Two callers apply the same rules:

- `answer_checks.py`, the Jinja extension, while cookiecutter renders the answers (before anything
  exists on disk): a refused render stops there, one line per problem, without a traceback;
- `hooks/pre_gen_project.py`, a second line for renders that skip that step (`cookiecutter
  --replay`), and the one that prints the warnings.

Each problem is one line ``ERROR: <question>=<value> <rule> (expected ...)``, at most one per
question (the first rule it fails), in the order of the questions. The question named is the one the
user answered: a derived name that kept its default (slug, package, model) is reported through the
answer it came from. Choice questions need no rule: cookiecutter refuses a value outside the list
before any of this runs.

A new rule is one `check.require(ok, question, rule, expected)` in a `check_...` function called
from `check()`.
"""

import json
import keyword
import re
import sys
from pathlib import PurePosixPath, PureWindowsPath

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


def show(value):
    return json.dumps(value, ensure_ascii=True)


def escapes_output_folder(name):
    """True when `name`, as a folder name, is not one plain folder inside the output folder."""
    return (
        name in ("", ".", "..")
        or PurePosixPath(name).name != name
        or PureWindowsPath(name).name != name
    )


class Findings:
    """The answers being checked, with the problems and warnings found so far."""

    def __init__(self, answers):
        self.answers = dict(answers)
        self._errors = {}  # question typed -> its line
        self.warnings = []

    def __getitem__(self, question):
        return self.answers[question]

    def typed(self, question):
        """The question the user answered for `question`: the one it was derived from, if it was."""
        while question in DERIVED:
            source, derive = DERIVED[question]
            if self.answers[question] != derive(self.answers[source]):
                break
            question = source
        return question

    def require(self, ok, question, rule, expected):
        """Record a problem unless `ok`; True when `ok`. One problem per question typed."""
        if ok:
            return True
        asked = self.typed(question)
        if asked in self._errors:
            return False
        if asked != question:
            # A derived answer is reported as the answer the user typed, naming what it gave.
            rule = f"gives {question}={show(self.answers[question])}, which {rule}"
        value = show(self.answers.get(asked))
        self._errors[asked] = f"ERROR: {asked}={value} {rule} (expected {expected})"
        return False

    def warn(self, line):
        self.warnings.append(line)

    @property
    def errors(self):
        """The problem lines, in the order of the questions."""
        order = list(self.answers)
        return [self._errors[question] for question in sorted(self._errors, key=order.index)]


def check_every_answer(check):
    # Rules for every answer the user typed, before the rules of each question (a derived answer
    # that kept its default is checked through the answer it came from).
    for question, value in check.answers.items():
        if (
            question.startswith("_")
            or not isinstance(value, str)
            or check.typed(question) != question
        ):
            continue
        check.require(
            not NOT_TEXT.search(value),
            question,
            "contains a newline, control character or non-text character",
            "one line of printable UTF-8 text",
        )
        check.require(
            BUNDLE_REFERENCE not in value,
            question,
            "contains ${, which starts a bundle reference (the bundle would resolve it)",
            "text without ${",
        )


def check_text(check, question, max_length):
    value = check[question]
    check.require(value.strip() != "", question, "is empty", "some text")
    check.require(
        len(value) <= max_length, question, "is too long", f"at most {max_length} characters"
    )


def check_uc_identifier(check, question):
    return check.require(
        UC_IDENTIFIER.fullmatch(check[question]) is not None,
        question,
        "is not a Unity Catalog name that needs no quoting",
        "lower-case ASCII letters, digits and underscores, starting with a letter",
    )


def check_catalog(check, question):
    value = check[question]
    check_uc_identifier(check, question)
    check.require(
        not value.startswith(RESERVED_CATALOG_PREFIXES) and value not in RESERVED_CATALOGS,
        question,
        "is a reserved catalog name",
        "a name not starting with system, sys or databricks, and not hive_metastore",
    )


def check_schema(check):
    check_uc_identifier(check, "uc_schema")
    check.require(
        check["uc_schema"] not in RESERVED_SCHEMAS,
        "uc_schema",
        "is a reserved schema name",
        "a name other than " + ", ".join(RESERVED_SCHEMAS),
    )


def check_name_lengths(check):
    # The longest catalog decides.
    prefix = "dev_" + "u" * (DEV_PREFIX_HEADROOM - 5) + "_"
    catalog = max((check[q] for q in ("dev_catalog", "staging_catalog", "prod_catalog")), key=len)
    longest = (
        f"{catalog}.{prefix}{check['uc_schema']}.{prefix}{check['model_name']}"
        f"{LONGEST_DERIVED_SUFFIX}"
    )
    check.require(
        len(longest) <= UC_MAX_NAME,
        "model_name",
        f"makes the longest derived name {len(longest)} characters long",
        f"catalog.schema.model{LONGEST_DERIVED_SUFFIX} within {UC_MAX_NAME} characters including "
        "development-mode prefixes; shorten the model, schema or catalog name",
    )


def check_online_name_parts(check):
    if check["include_serving"] != "yes" or check["include_feature_store"] != "yes":
        return
    for question in ("uc_schema", "dev_catalog", "staging_catalog", "prod_catalog"):
        check.require(
            len(check[question]) <= ONLINE_MAX_PART,
            question,
            "is too long for an online feature table name (serving with the feature store)",
            f"at most {ONLINE_MAX_PART} characters",
        )


def check_distinct_catalogs(check):
    seen = {}
    for question in ("dev_catalog", "staging_catalog", "prod_catalog"):
        other = seen.setdefault(check[question], question)
        check.require(
            other == question, question, f"is the same catalog as {other}", "one catalog per target"
        )


def check_host(check, question):
    value = check[question]
    match = HOST.fullmatch(value)
    if not check.require(
        match is not None,
        question,
        "is not a Databricks workspace URL",
        "https://<workspace host>, optionally ending in / or ?o=<workspace id>",
    ):
        return
    cloud = check["cloud"]
    if not match.group("host").endswith(CLOUD_HOST_SUFFIXES[cloud]):
        check.warn(
            f"WARNING: {question}={show(value)} does not look like a {cloud} workspace host "
            f"(usually ending in {' or '.join(CLOUD_HOST_SUFFIXES[cloud])})"
        )


def check_group(check, question):
    value = check[question]
    check_text(check, question, 255)
    check.require(
        not any(character in value for character in "`'\""),
        question,
        "contains a quote or backtick",
        "a group name without ` ' or \"",
    )
    check.require(
        value == value.strip(), question, "has leading or trailing spaces", "a trimmed name"
    )


def check_email(check):
    check.require(
        EMAIL.fullmatch(check["alert_email"]) is not None,
        "alert_email",
        "is not a plausible e-mail address",
        "name@domain.tld",
    )


def check_branch(check, question):
    # The rules of `git check-ref-format --branch`, without calling git (checks need no tools).
    value = check[question]
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
    check.require(
        valid,
        question,
        "is not a valid git branch name",
        "a name `git check-ref-format --branch` accepts",
    )


def check_branches(check):
    """Both branches valid, and two of them (the monorepo skeleton asks them too)."""
    for question in ("default_branch", "release_branch"):
        check_branch(check, question)
    check.require(
        check["release_branch"] != check["default_branch"],
        "release_branch",
        "is the same as default_branch",
        "a separate branch that moves only on release",
    )


def check_project_folder(check):
    # Cookiecutter creates the project folder (with every missing parent) before the pre-generation
    # hook runs, so this rule must hold before that: answer_checks.py applies it while the answers
    # are rendered.
    check.require(
        not escapes_output_folder(check["project_slug"]),
        "project_slug",
        "is not a single folder inside the output folder",
        "a name without /, \\ or a drive, and not . or ..",
    )


def check_slug_and_package(check):
    check.require(
        SLUG.fullmatch(check["project_slug"]) is not None,
        "project_slug",
        "is not a valid repository folder name",
        "lower-case letters and digits in words joined by single hyphens, starting with a letter",
    )
    package = check["package_name"]
    check.require(
        PACKAGE.fullmatch(package) is not None,
        "package_name",
        "is not a valid Python package name",
        "lower-case ASCII letters, digits and underscores, starting with a letter",
    )
    check.require(
        not keyword.iskeyword(package), "package_name", "is a Python keyword", "another name"
    )
    check.require(
        package not in sys.stdlib_module_names and package not in ("test", "tests", "notebooks"),
        "package_name",
        "shadows a standard-library or project module",
        "a name that is not already importable",
    )


def check_project_name(check):
    check_text(check, "project_name", 80)
    check.require(
        not any(character in check["project_name"] for character in "\"'`\\{}"),
        "project_name",
        "contains a quote, backslash or brace",
        "a plain name such as Churn Model",
    )


def check_repository_answers(check, shared):
    """In a monorepo, `shared` holds the answers its model folders must share with it (its CI
    platform and branches): the repository's CI serves the folder on that platform and branches."""
    for question, value in shared.items():
        if question in check.answers:
            check.require(
                check[question] == value,
                question,
                f"is not this repository's ({show(value)}, in ci/model-answers.json)",
                f"{question}={value}, or cruft create --extra-context-file ci/model-answers.json",
            )


def check_neighbours(check, neighbours):
    """In a monorepo, the model folders already in the output folder (`models/`): each is
    (folder, bundle name, model name). A second folder with either name would deploy over the
    first one's jobs or register versions of its model."""
    for folder, bundle, model in neighbours:
        check.require(
            bundle != check["project_slug"],
            "project_slug",
            f"is the bundle name of {folder} already",
            "a bundle name no other model folder of the repository has",
        )
        check.require(
            model != check["model_name"],
            "model_name",
            f"is the model of {folder} already",
            "a model name no other model folder of the repository has",
        )


def check(answers, neighbours=(), shared=None):
    """Apply every rule to `answers` (the cookiecutter context's answers); return the Findings."""
    findings = Findings(answers)
    check_every_answer(findings)
    check_project_name(findings)
    check_text(findings, "description", 300)
    check_project_folder(findings)
    check_slug_and_package(findings)
    check_uc_identifier(findings, "model_name")
    check_schema(findings)
    for question in ("dev_catalog", "staging_catalog", "prod_catalog"):
        check_catalog(findings, question)
    check_distinct_catalogs(findings)
    check_name_lengths(findings)
    check_online_name_parts(findings)
    for question in ("dev_workspace_host", "staging_workspace_host", "prod_workspace_host"):
        check_host(findings, question)
    for question in ("reader_group", "developer_group"):
        check_group(findings, question)
    check_email(findings)
    check_branches(findings)
    check_neighbours(findings, neighbours)
    check_repository_answers(findings, shared or {})
    return findings

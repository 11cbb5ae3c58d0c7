import os
import sys
from pathlib import Path

import pytest
from variants import TEMPLATE, selected_variants

# pytest-cookies renders the context itself, outside the import path cookiecutter gives a template,
# so the template's Jinja extensions (local_extensions.py, `_extensions`) must be importable here.
if str(TEMPLATE) not in sys.path:
    sys.path.append(str(TEMPLATE))

VARIANTS = selected_variants()
SCHEMA_ENV = "UC_MLOPS_BUNDLE_SCHEMA"
# The repository's own copy (schemas/SOURCE.md says where it comes from).
DEFAULT_SCHEMA = TEMPLATE / "schemas" / "databricks-bundle.schema.json"


# Session fixtures that install and run a rendered project (minutes each): every test that uses
# one instance of them must run on the worker that built it, not build it again on another.
SHARED_BY_GROUP = ("quickstart", "byom")
UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    # A wrapper, so the marks exist before pytest-xdist's own hook turns them into groups (a plain
    # conftest hook runs after it on a worker, and the marks would be ignored).
    for item in items:
        params = getattr(item, "callspec", None)
        for fixture in SHARED_BY_GROUP:
            if params is not None and fixture in params.params:
                item.add_marker(pytest.mark.xdist_group(f"{fixture}-{params.params[fixture]}"))
    yield
    # Slow tests first (a stable sort: each group's tests stay together and in order): xdist
    # hands out the groups first anyway, and so the minutes-long ungrouped ones (the installed
    # upgrades) start early instead of leaving one worker idle at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    # xdist groups by appending "@group" to the node id; pytest 9.2 ignores that
    # (pytest-dev/pytest-xdist#1386), and the tests then spread over workers and build each
    # fixture once per worker. Make that loud rather than ten minutes slower.
    if getattr(config.option, "loadgroup", False):
        for item in items:
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
                item.stash[UNGROUPED] = (
                    f"pytest-xdist did not group {item.nodeid} with the other tests of its "
                    "fixture (see pytest-dev/pytest-xdist#1386): keep pytest at the version "
                    "requirements-test.txt pins, or run with -n 0"
                )


def pytest_runtest_setup(item):
    if UNGROUPED in item.stash:
        pytest.fail(item.stash[UNGROUPED], pytrace=False)


def pytest_generate_tests(metafunc):
    # Any test that asks for `variant` runs once per rendered variant, named by its id.
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", list(VARIANTS), scope="session")


@pytest.fixture(scope="session")
def baked(cookies_session):
    """Bake each variant once per session, on first use."""
    cache = {}

    def bake(variant):
        if variant not in cache:
            result = cookies_session.bake(extra_context=VARIANTS[variant])
            assert result.exit_code == 0, f"{variant} failed to render: {result.exception!r}"
            cache[variant] = result
        return cache[variant]

    return bake


@pytest.fixture(scope="session")
def project(baked, variant):
    """The rendered project folder."""
    return Path(baked(variant).project_path)


@pytest.fixture(scope="session")
def answers(baked, variant):
    """The full context the variant rendered with: its answers plus the derived values."""
    return dict(baked(variant).context)


@pytest.fixture(scope="session")
def bundle_schema():
    """The Asset Bundle JSON schema: $UC_MLOPS_BUNDLE_SCHEMA, else schemas/. Never skipped."""
    path = Path(os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)
    if not path.is_file():
        pytest.fail(
            f"Asset Bundle schema not found at {path}: restore schemas/ from git, run "
            f"scripts/refresh-bundle-schema, or point {SCHEMA_ENV} at a schema file.",
            pytrace=False,
        )
    return path

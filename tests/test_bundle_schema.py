"""The repository's copy of the Asset Bundle schema is what schemas/SOURCE.md says it is (sha256, the
CLI version the rendered bundle pins), and scripts/refresh-bundle-schema regenerates both from a CLI
on PATH (a stand-in here: no CLI is installed by the test set-up)."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from variants import TEMPLATE

SCHEMAS = TEMPLATE / "schemas"
SCHEMA = "databricks-bundle.schema.json"
REFRESH = TEMPLATE / "scripts" / "refresh-bundle-schema"


def stated(folder, label):
    text = (folder / "SOURCE.md").read_text()
    match = re.search(rf"^- {label}: `([^`]*)`", text, re.M)
    assert match, f"SOURCE.md has no `- {label}:` line"
    return match[1]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_copy_is_the_one_source_md_describes():
    assert sha256(SCHEMAS / SCHEMA) == stated(SCHEMAS, "sha256"), (
        f"schemas/{SCHEMA} differs from what SOURCE.md records; regenerate it with "
        "scripts/refresh-bundle-schema instead of editing it"
    )
    assert re.fullmatch(r"[0-9a-f]{40}", stated(SCHEMAS, "Commit")), "SOURCE.md: commit missing"
    licence = (SCHEMAS / "databricks-cli-LICENSE.txt").read_text()
    assert licence.lstrip().startswith("Databricks License"), "the licence must travel with it"


def test_copy_matches_the_pinned_cli(project):
    bundle = yaml.safe_load((project / "databricks.yml").read_text())["bundle"]
    floor = re.fullmatch(r">= (\S+), < \S+", bundle["databricks_cli_version"]).group(1)
    assert stated(SCHEMAS, "CLI version") == floor, (
        "the bundle pins another CLI: run scripts/refresh-bundle-schema with that CLI on PATH"
    )


@pytest.fixture
def checkout(tmp_path):
    """The script and schemas/ in a scratch folder, so a refresh never touches the repository."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REFRESH, tmp_path / "scripts")
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    return tmp_path


def stand_in_cli(folder, version, schema):
    folder.mkdir()
    (folder / "printed.json").write_text(schema)
    cli = folder / "databricks"
    cli.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  --version) echo "Databricks CLI v{version}" ;;\n'
        f'  "bundle schema") cat "{folder / "printed.json"}" ;;\n'
        "  *) exit 2 ;;\n"
        "esac\n"
    )
    cli.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


@pytest.mark.parametrize("version", ["1.13.0", "9.8.7"])
def test_refresh_writes_the_schema_and_its_facts(checkout, version):
    schemas = checkout / "schemas"
    commit = stated(schemas, "Commit")
    printed = '{"$defs": {}, "type": "object"}\n'
    env = stand_in_cli(checkout / "bin", version, printed)
    result = subprocess.run(
        [sys.executable, str(checkout / "scripts" / REFRESH.name)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (schemas / SCHEMA).read_text() == printed
    assert stated(schemas, "sha256") == sha256(schemas / SCHEMA)
    assert stated(schemas, "CLI version") == version
    if version == stated(SCHEMAS, "CLI version"):
        assert stated(schemas, "Commit") == commit
    else:
        # Another release: the old commit would be wrong, and the copy test refuses the mark.
        assert stated(schemas, "Commit") == "unknown"
    assert (SCHEMAS / "SOURCE.md").read_text() != (schemas / "SOURCE.md").read_text()


def test_refresh_without_a_cli_says_so_in_one_line(checkout, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    before = (checkout / "schemas" / SCHEMA).read_bytes()
    result = subprocess.run(
        [sys.executable, str(checkout / "scripts" / REFRESH.name)],
        env={"PATH": str(empty)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "no `databricks` CLI" in result.stderr
    assert (checkout / "schemas" / SCHEMA).read_bytes() == before

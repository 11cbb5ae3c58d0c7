"""Expected failures are one line, `<stage> refused: <object>: <rule>`, exit 1, and change
nothing: versions that do not exist, a broken local store, an empty sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import cli, registry
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
from {{ cookiecutter.package_name }}.settings import Thresholds
from {{ cookiecutter.package_name }}.train import train


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert cli.main([*argv, "--runtime", "local"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{argv[0]} refused: ")
    return lines[0]


def test_versions_that_do_not_exist(
    world: LocalRuntime, names: Names, thresholds: Thresholds, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MlflowClient()
    first = train(world, names).version
    registry.promote(client, names.model, first, thresholds.digest, force=True)
    second = train(world, names).version
    registry.promote(client, names.model, second, thresholds.digest, force=True)
    before = registry.aliases(client, names.model)

    for command, version, rule in [
        ("rollback", "99", "no such version"),
        ("rollback", "0", "versions are numbered from 1"),
        ("rollback", "-1", "versions are numbered from 1"),
        ("promote", "99", "no such version"),
        ("validate", "99", "no such version"),
    ]:
        line = refusal(capsys, command, "--version", version)
        assert line == f"{command} refused: {names.model} version {version}: {rule}" + (
            " in the registry" if rule == "no such version" else ""
        )
    assert registry.aliases(client, names.model) == before


@pytest.mark.parametrize("damage", ["corrupt", "deleted"])
def test_a_broken_local_store_says_how_to_start_over(
    world: LocalRuntime, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    store = world.root / "mlflow.db"
    if damage == "corrupt":
        store.write_bytes(b"not a database, " * 64)
    else:
        store.unlink()

    line = refusal(capsys, "rollback")
    assert line.startswith(f"rollback refused: {store}: ")
    assert line.endswith(f"to start over: rm -rf {world.root}")
    assert store.exists() == (damage == "corrupt")  # a deleted store is not silently recreated


def test_an_empty_sample_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, "local-run", "--rows", "0")
    assert line == "local-run refused: --rows 0: the sample needs at least 1 label row"

"""Train, validate, promote, roll back and score against a real local registry."""

from __future__ import annotations

from collections.abc import Callable

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import cli, registry
from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.inference import batch_inference
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.runtime.local import LocalRuntime
from {{ cookiecutter.package_name }}.settings import Thresholds
from {{ cookiecutter.package_name }}.train import split_labels, train
from {{ cookiecutter.package_name }}.validation import validate

LABEL = MODEL.label


def labels_table(names: Names) -> str:
    return names.table(MODEL.labels.name)


def feature_columns(runtime: LocalRuntime, names: Names) -> set[str]:
    """Every column of the model's feature tables but their keys."""
    columns = set()
    for table in MODEL.feature_tables:
        columns |= set(runtime.read_table(names.table(table.name)).columns) - {table.key}
    return columns


def test_train_registers_version_and_challenger(world: LocalRuntime, names: Names) -> None:
    result = train(world, names)
    registry.set_challenger(MlflowClient(), names.model, result.version)

    assert result.version == 1
    assert registry.aliases(MlflowClient(), names.model) == {registry.CHALLENGER: "1"}
    assert set(result.metrics) == set(MODEL.metric_names)
    run = mlflow.get_run(result.run_id)
    assert {k: str(v) for k, v in MODEL.params.items()}.items() <= run.data.params.items()
    assert set(run.data.metrics) == {f"holdout_{k}" for k in result.metrics}

    info = mlflow.models.get_model_info(f"models:/{names.model}@challenger")
    inputs = info.signature.inputs.input_names()
    assert set(inputs) == feature_columns(world, names)
    assert not {*MODEL.keys, LABEL} & set(inputs)
    assert info.signature.outputs is not None


def test_validation_rescores_the_training_holdout(
    world: LocalRuntime, names: Names, thresholds: Thresholds
) -> None:
    trained = train(world, names)
    validated = validate(world, names, trained.version, thresholds.promotion)
    # Same holdout, same model: the registered model reproduces the training metrics.
    assert validated.candidate_metrics == pytest.approx(trained.metrics)
    assert validated.passed
    assert "no champion yet: thresholds alone decide" in validated.reasons


def crown(names: Names, version: int, thresholds: Thresholds) -> None:
    """Make ``version`` the champion without validating it, as a human with --force would."""
    registry.promote(MlflowClient(), names.model, version, thresholds.digest, force=True)


def test_degraded_challenger_is_refused(
    world: LocalRuntime, names: Names, thresholds: Thresholds, train_degraded: Callable[[], int]
) -> None:
    client = MlflowClient()
    champion = train(world, names).version
    crown(names, champion, thresholds)
    degraded = train_degraded()

    result = validate(world, names, degraded, thresholds.promotion)

    assert not result.passed
    assert result.champion_version == champion
    assert any(reason.startswith("does not beat champion") for reason in result.reasons)
    assert any("too" in reason for reason in result.reasons)  # absolute thresholds fail too
    assert registry.champion_version(client, names.model) == champion


def test_better_challenger_is_promoted_and_can_be_rolled_back(
    world: LocalRuntime, names: Names, thresholds: Thresholds, train_degraded: Callable[[], int]
) -> None:
    client = MlflowClient()
    weak = train_degraded()
    crown(names, weak, thresholds)  # bootstrap: a poor first champion
    strong = train(world, names).version

    result = validate(world, names, strong, thresholds.promotion)
    assert result.passed, result.reasons
    assert any(reason.startswith("beats champion") for reason in result.reasons)
    verdict = registry.Verdict(result.passed, result.champion_version, thresholds.digest)
    registry.record_verdict(client, names.model, strong, verdict)

    promoted = registry.promote(client, names.model, strong, thresholds.digest)
    assert (promoted.champion, promoted.previous, promoted.changed) == (strong, weak, True)
    assert not promoted.forced
    again = registry.promote(client, names.model, strong, thresholds.digest)
    assert not again.changed
    assert registry.aliases(client, names.model) == {
        registry.CHAMPION: str(strong),
        registry.PREVIOUS_CHAMPION: str(weak),
    }

    rolled = registry.rollback(client, names.model)
    assert (rolled.champion, rolled.rolled_back_from) == (weak, strong)
    assert registry.aliases(client, names.model) == {registry.CHAMPION: str(weak)}

    with pytest.raises(registry.NothingToRollBackError):
        registry.rollback(client, names.model)
    assert registry.champion_version(client, names.model) == weak

    # An explicit version (the rollback job's `version` parameter) may be any existing version.
    forward = registry.rollback(client, names.model, to_version=strong)
    assert (forward.champion, forward.rolled_back_from) == (strong, weak)
    with pytest.raises(registry.NothingToRollBackError):
        registry.rollback(client, names.model, to_version=strong)
    assert registry.champion_version(client, names.model) == strong


def test_rollback_command_refuses_without_history(
    world: LocalRuntime, names: Names, thresholds: Thresholds, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MlflowClient()
    crown(names, train(world, names).version, thresholds)
    before = registry.aliases(client, names.model)
    capsys.readouterr()  # drop the registration chatter

    assert cli.main(["rollback", "--runtime", "local"]) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rollback refused:")
    assert registry.aliases(client, names.model) == before


def test_batch_inference_writes_the_inference_table(
    world: LocalRuntime, names: Names, thresholds: Thresholds
) -> None:
    version = train(world, names).version
    crown(names, version, thresholds)

    result = batch_inference(world, names)

    table = world.read_table(names.predictions)
    columns = set(table.columns)
    assert {*MODEL.keys, "prediction", LABEL, "model_version", "scored_at"} <= columns
    assert feature_columns(world, names) <= columns
    labels = world.read_table(labels_table(names))
    summary = table.groupBy("model_version").count().collect()
    assert [(row["model_version"], row["count"]) for row in summary] == [(version, labels.count())]
    assert (result.model_version, result.rows) == (version, labels.count())
    # Labels only where the model never trained: quality on this table is out of sample.
    _, holdout = split_labels(labels)
    assert table.filter(table[LABEL].isNotNull()).count() == holdout.count() > 0
    assert table.filter(table.prediction.isNull() | table.scored_at.isNull()).count() == 0

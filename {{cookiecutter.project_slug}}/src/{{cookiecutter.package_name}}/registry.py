"""Model aliases: challenger, champion, and a remembered previous champion for rollback; the
validation verdict recorded on each version, which promotion requires.

Works the same against the local SQLite registry and Unity Catalog: it only uses
aliases and model version tags through ``MlflowClient``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import NOT_FOUND, RESOURCE_DOES_NOT_EXIST, ErrorCode

from .errors import Refusal

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
# Tag on a version: which version was champion when this one was promoted.
PREVIOUS_TAG = "previous_champion_version"
# Tags of the validation verdict: passed or not, against which champion ("none" before the
# first), under which conf/thresholds.yml (its digest).
PASSED_TAG = "validation_passed"
AGAINST_TAG = "validation_champion_version"
THRESHOLDS_TAG = "validation_thresholds_digest"
NO_CHAMPION = "none"
# Tag on a version promoted with --force, without a passing verdict: by a human, never a job.
FORCED_TAG = "promotion_forced"
_MISSING = (ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), ErrorCode.Name(NOT_FOUND))


class NothingToRollBackError(Refusal):
    """There is no earlier champion to return to."""


class NoSuchVersionError(Refusal):
    """The version asked for is not in the registry."""


class PromotionRefusedError(Refusal):
    """The version has no passing validation verdict against the current champion."""


@dataclass(frozen=True)
class PromotionResult:
    champion: int
    previous: int | None
    changed: bool
    forced: bool = False


@dataclass(frozen=True)
class Verdict:
    """What validation decided about a version, and against what."""

    passed: bool
    champion: int | None
    thresholds: str


@dataclass(frozen=True)
class RollbackResult:
    champion: int
    rolled_back_from: int


def aliases(client: MlflowClient, model: str) -> dict[str, str]:
    """Alias -> version for a registered model; empty if the model does not exist yet."""
    try:
        registered = client.get_registered_model(model)
    except MlflowException as error:
        if error.error_code in _MISSING:
            return {}
        raise
    return {alias: str(version) for alias, version in registered.aliases.items()}


def champion_version(client: MlflowClient, model: str) -> int | None:
    version = aliases(client, model).get(CHAMPION)
    return int(version) if version else None


def set_challenger(client: MlflowClient, model: str, version: int) -> None:
    client.set_registered_model_alias(model, CHALLENGER, str(version))


def require_version(client: MlflowClient, model: str, version: int) -> ModelVersion:
    """The registered version, or a refusal naming it (before any write)."""
    if version < 1:
        raise NoSuchVersionError(f"{model} version {version}: versions are numbered from 1")
    try:
        return client.get_model_version(model, str(version))
    except MlflowException as error:
        if error.error_code in _MISSING:
            raise NoSuchVersionError(
                f"{model} version {version}: no such version in the registry"
            ) from None
        raise


def record_verdict(client: MlflowClient, model: str, version: int, verdict: Verdict) -> None:
    against = str(verdict.champion) if verdict.champion is not None else NO_CHAMPION
    client.set_model_version_tag(model, str(version), PASSED_TAG, str(verdict.passed).lower())
    client.set_model_version_tag(model, str(version), AGAINST_TAG, against)
    client.set_model_version_tag(model, str(version), THRESHOLDS_TAG, verdict.thresholds)


def read_verdict(found: ModelVersion) -> Verdict | None:
    tags = found.tags or {}
    if PASSED_TAG not in tags:
        return None
    against = tags.get(AGAINST_TAG, NO_CHAMPION)
    return Verdict(
        passed=tags[PASSED_TAG] == "true",
        champion=None if against == NO_CHAMPION else int(against),
        thresholds=tags.get(THRESHOLDS_TAG, ""),
    )


def check_verdict(
    model: str, version: int, verdict: Verdict | None, champion: int | None, thresholds: str
) -> None:
    """Refuse unless ``verdict`` passed against the current champion under these thresholds."""
    subject = f"{model} version {version}"
    again = f"run validate --version {version} first"
    current = f"version {champion}" if champion is not None else "no champion"
    if verdict is None:
        raise PromotionRefusedError(f"{subject}: never validated; {again}")
    if verdict.champion != champion:
        was = f"version {verdict.champion}" if verdict.champion is not None else "no champion"
        raise PromotionRefusedError(
            f"{subject}: validated against {was}, but the champion is now {current}: the "
            f"verdict is stale; {again}"
        )
    if verdict.thresholds != thresholds:
        raise PromotionRefusedError(
            f"{subject}: validated under other thresholds (digest {verdict.thresholds}, "
            f"conf/thresholds.yml is now {thresholds}); {again}"
        )
    if not verdict.passed:
        raise PromotionRefusedError(
            f"{subject}: failed validation against {current}; only a passing verdict promotes"
        )


def promote(
    client: MlflowClient, model: str, version: int, thresholds: str, force: bool = False
) -> PromotionResult:
    """Make ``version`` the champion, remembering the one it replaces.

    Only a version whose recorded verdict passed against the current champion, under the
    thresholds of digest ``thresholds``, is promoted; ``force`` (a human's decision, recorded
    on the version) skips that gate. Promoting the current champion again changes nothing.
    The champion alias is moved in a single call and never deleted, so no failure can leave
    the model without one.
    """
    current = aliases(client, model)
    champion = current.get(CHAMPION)
    if champion == str(version):
        previous = current.get(PREVIOUS_CHAMPION)
        return PromotionResult(version, int(previous) if previous else None, changed=False)
    found = require_version(client, model, version)  # before any write
    if not force:
        check_verdict(
            model, version, read_verdict(found), int(champion) if champion else None, thresholds
        )
    else:
        client.set_model_version_tag(model, str(version), FORCED_TAG, "true")
    if champion:
        client.set_model_version_tag(model, str(version), PREVIOUS_TAG, champion)
    client.set_registered_model_alias(model, CHAMPION, str(version))
    if champion:
        client.set_registered_model_alias(model, PREVIOUS_CHAMPION, champion)
    if current.get(CHALLENGER) == str(version):
        client.delete_registered_model_alias(model, CHALLENGER)
    previous = int(champion) if champion else None
    return PromotionResult(version, previous, changed=True, forced=force)


def _previous_of(client: MlflowClient, model: str, version: str) -> str | None:
    return client.get_model_version(model, version).tags.get(PREVIOUS_TAG)


def rollback(client: MlflowClient, model: str, to_version: int | None = None) -> RollbackResult:
    """Point the champion back to the version it replaced, or to ``to_version`` when given.

    Raises and changes nothing when there is nothing to roll back to.
    """
    champion = aliases(client, model).get(CHAMPION)
    if not champion:
        raise NothingToRollBackError(f"{model} has no champion, so there is nothing to roll back")
    if to_version is None:
        previous = _previous_of(client, model, champion)
        if not previous or previous == champion:
            raise NothingToRollBackError(
                f"{model} champion version {champion} replaced no earlier champion; "
                "nothing to roll back to"
            )
    else:
        previous = str(to_version)
        if previous == champion:
            raise NothingToRollBackError(f"{model} version {previous} is already the champion")
        require_version(client, model, to_version)  # before any write
    client.set_registered_model_alias(model, CHAMPION, previous)
    # Keep the informational alias in step, so a further rollback is visible in the UI.
    before = _previous_of(client, model, previous)
    if before:
        client.set_registered_model_alias(model, PREVIOUS_CHAMPION, before)
    else:
        client.delete_registered_model_alias(model, PREVIOUS_CHAMPION)
    return RollbackResult(champion=int(previous), rolled_back_from=int(champion))

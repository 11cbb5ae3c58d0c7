"""Model aliases: challenger, champion, and a remembered previous champion for rollback.

Works the same against the local SQLite registry and Unity Catalog: it only uses
aliases and model version tags through ``MlflowClient``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from .errors import Refusal

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
# Tag on a version: which version was champion when this one was promoted.
PREVIOUS_TAG = "previous_champion_version"


class NothingToRollBackError(Refusal):
    """There is no earlier champion to return to."""


@dataclass(frozen=True)
class PromotionResult:
    champion: int
    previous: int | None
    changed: bool


@dataclass(frozen=True)
class RollbackResult:
    champion: int
    rolled_back_from: int


def aliases(client: MlflowClient, model: str) -> dict[str, str]:
    """Alias -> version for a registered model; empty if the model does not exist yet."""
    try:
        registered = client.get_registered_model(model)
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return {}
        raise
    return {alias: str(version) for alias, version in registered.aliases.items()}


def champion_version(client: MlflowClient, model: str) -> int | None:
    version = aliases(client, model).get(CHAMPION)
    return int(version) if version else None


def set_challenger(client: MlflowClient, model: str, version: int) -> None:
    client.set_registered_model_alias(model, CHALLENGER, str(version))


def promote(client: MlflowClient, model: str, version: int) -> PromotionResult:
    """Make ``version`` the champion, remembering the one it replaces.

    Promoting the current champion again changes nothing. The champion alias is moved
    in a single call and never deleted, so no failure can leave the model without one.
    """
    current = aliases(client, model)
    champion = current.get(CHAMPION)
    if champion == str(version):
        previous = current.get(PREVIOUS_CHAMPION)
        return PromotionResult(version, int(previous) if previous else None, changed=False)
    client.get_model_version(model, str(version))  # fail before any write if it is missing
    if champion:
        client.set_model_version_tag(model, str(version), PREVIOUS_TAG, champion)
    client.set_registered_model_alias(model, CHAMPION, str(version))
    if champion:
        client.set_registered_model_alias(model, PREVIOUS_CHAMPION, champion)
    if current.get(CHALLENGER) == str(version):
        client.delete_registered_model_alias(model, CHALLENGER)
    return PromotionResult(version, int(champion) if champion else None, changed=True)


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
        client.get_model_version(model, previous)  # fail before any write if it is missing
    client.set_registered_model_alias(model, CHAMPION, previous)
    # Keep the informational alias in step, so a further rollback is visible in the UI.
    before = _previous_of(client, model, previous)
    if before:
        client.set_registered_model_alias(model, PREVIOUS_CHAMPION, before)
    else:
        client.delete_registered_model_alias(model, PREVIOUS_CHAMPION)
    return RollbackResult(champion=int(previous), rolled_back_from=int(champion))

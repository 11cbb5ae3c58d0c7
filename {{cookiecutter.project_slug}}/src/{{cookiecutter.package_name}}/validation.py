"""The validation stage: the challenger vs the champion on the same holdout, plus the absolute
limits of ``conf/thresholds.yml`` (promotion)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlflow import MlflowClient

from . import registry
from .config import PREDICTION, Names
from .contract import ModelSpec
from .model import MODEL
from .registry import champion_version
from .runtime import Runtime
from .settings import Promotion, Thresholds
from .train import feature_lookups, read_labels, split_labels

# Float noise is not an improvement: a retrained identical model must not replace the champion.
TOLERANCE = 1e-9


@dataclass
class ValidationResult:
    passed: bool
    candidate_version: int
    candidate_metrics: dict[str, float]
    champion_version: int | None = None
    champion_metrics: dict[str, float] | None = None
    reasons: list[str] = field(default_factory=list)
    # The reasons of the checks that failed, so a refusal can name them.
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, reason: str) -> None:
        self.passed &= ok
        self.reasons.append(reason)
        if not ok:
            self.failures.append(reason)

    def report(self) -> str:
        """The verdict and its reasons, one a line: what the CLI prints and the notebook shows."""
        outcome = "PASSED" if self.passed else "FAILED"
        lines = [f"version {self.candidate_version} {outcome}"]
        return "\n".join(lines + [f"  - {reason}" for reason in self.reasons])


def evaluate(
    runtime: Runtime, names: Names, model_uri: str, model: ModelSpec = MODEL
) -> dict[str, float]:
    """Score the holdout split with a registered model, the way batch inference would."""
    _, holdout = split_labels(read_labels(runtime, names, model), model)
    scored = runtime.score(model_uri, holdout, feature_lookups(names, model), model.prediction_type)
    # Holdout-sized, label and prediction only; sorted so float sums add up the same every time.
    pdf = scored.select(*model.keys, model.label, PREDICTION).orderBy(*model.keys).toPandas()
    return model.compute_metrics(pdf[model.label], pdf[PREDICTION])


def limit_checks(metrics: dict[str, float], promotion: Promotion) -> list[tuple[bool, str]]:
    """(ok, reason) for each absolute limit."""
    checks = []
    for limit in promotion.limits:
        value = metrics[limit.metric]
        ok = limit.holds(value)
        is_minimum = limit.bound == "min"
        relation = (">=" if ok else "<") if is_minimum else ("<=" if ok else ">")
        verdict = "ok" if ok else "too low" if is_minimum else "too high"
        checks.append((ok, f"{limit.metric} {value:.4f} {relation} {limit.value:.4f} ({verdict})"))
    return checks


def compare_with_champion(
    candidate: dict[str, float],
    champion: dict[str, float],
    champion_version: int,
    min_improvement: float,
    model: ModelSpec = MODEL,
) -> tuple[bool, str]:
    metric = model.metric(model.primary_metric)
    gain = candidate[metric.name] - champion[metric.name]
    if not metric.higher_is_better:
        gain = -gain
    ok = gain > TOLERANCE and gain >= min_improvement
    summary = (
        f"{metric.name} {candidate[metric.name]:.4f} vs champion v{champion_version} "
        f"{champion[metric.name]:.4f} (improvement {gain:+.4f}, required > 0 and >= "
        f"{min_improvement})"
    )
    return ok, ("beats champion: " if ok else "does not beat champion: ") + summary


def validate(
    runtime: Runtime,
    names: Names,
    version: int,
    promotion: Promotion,
    model: ModelSpec = MODEL,
) -> ValidationResult:
    """Decide whether ``version`` may replace the champion; no champion -> the limits decide."""
    candidate = evaluate(runtime, names, f"models:/{names.model}/{version}", model)
    result = ValidationResult(passed=True, candidate_version=version, candidate_metrics=candidate)
    for ok, reason in limit_checks(candidate, promotion):
        result.check(ok, reason)

    champion = champion_version(MlflowClient(), names.model)
    result.champion_version = champion
    if champion is None:
        result.reasons.append("no champion yet: thresholds alone decide")
    elif champion == version:
        result.reasons.append(f"version {version} is already the champion")
    else:
        result.champion_metrics = evaluate(runtime, names, f"models:/{names.model}@champion", model)
        ok, reason = compare_with_champion(
            candidate, result.champion_metrics, champion, promotion.min_improvement, model
        )
        result.check(ok, reason)
    return result


def validate_and_record(
    runtime: Runtime,
    names: Names,
    version: int | str,
    thresholds: Thresholds,
    model: ModelSpec = MODEL,
) -> ValidationResult:
    """Validate ``version``, then record the verdict on it (promotion reads it) and in the task
    value ``passed`` (the training job's ``passed`` condition reads it).

    What ``python -m <package> validate`` and the training job's validate notebook both run; a
    notebook passes the version as its widget's text.
    """
    version = int(version)
    client = MlflowClient()
    registry.require_version(client, names.model, version)
    result = validate(runtime, names, version, thresholds.promotion, model)
    verdict = registry.Verdict(result.passed, result.champion_version, thresholds.digest)
    registry.record_verdict(client, names.model, version, verdict)
    runtime.set_task_value("passed", result.passed)
    return result

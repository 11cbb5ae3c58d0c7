"""Validation: candidate vs champion on the same holdout, plus absolute thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlflow import MlflowClient

from . import config
from .config import LABEL, PRIMARY_METRIC, Names, Thresholds
from .platform import Platform
from .registry import champion_version
from .training import KEYS, compute_metrics, feature_lookups, prediction_type, split_labels

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


def evaluate(
    platform: Platform, names: Names, model_uri: str, problem_type: str
) -> dict[str, float]:
    """Score the holdout split with a registered model, the way batch inference would."""
    _, holdout = split_labels(platform.read_table(names.labels))
    scored = platform.score(
        model_uri, holdout, feature_lookups(names), prediction_type(problem_type)
    )
    # Holdout-sized, label and prediction only; sorted so float sums add up the same every time.
    pdf = scored.select(*KEYS, LABEL, "prediction").orderBy(*KEYS).toPandas()
    return compute_metrics(problem_type, pdf[LABEL], pdf["prediction"])


def threshold_checks(
    problem_type: str, metrics: dict[str, float], thresholds: Thresholds
) -> list[tuple[bool, str]]:
    """(ok, reason) for each absolute gate."""
    if problem_type == "classification":
        gates = [("accuracy", thresholds.min_accuracy, True), ("f1", thresholds.min_f1, True)]
    else:
        gates = [
            ("relative_rmse", thresholds.max_relative_rmse, False),
            ("r2", thresholds.min_r2, True),
        ]
    checks = []
    for metric, limit, is_minimum in gates:
        value = metrics[metric]
        ok = value >= limit if is_minimum else value <= limit
        relation = (">=" if ok else "<") if is_minimum else ("<=" if ok else ">")
        verdict = "ok" if ok else "too low" if is_minimum else "too high"
        checks.append((ok, f"{metric} {value:.4f} {relation} {limit:.4f} ({verdict})"))
    return checks


def compare_with_champion(
    problem_type: str,
    candidate: dict[str, float],
    champion: dict[str, float],
    champion_version: int,
    min_improvement: float,
) -> tuple[bool, str]:
    metric, higher_is_better = PRIMARY_METRIC[problem_type]
    gain = candidate[metric] - champion[metric]
    if not higher_is_better:
        gain = -gain
    ok = gain > TOLERANCE and gain >= min_improvement
    summary = (
        f"{metric} {candidate[metric]:.4f} vs champion v{champion_version} "
        f"{champion[metric]:.4f} (improvement {gain:+.4f}, required > 0 and >= {min_improvement})"
    )
    return ok, ("beats champion: " if ok else "does not beat champion: ") + summary


def validate(
    platform: Platform,
    names: Names,
    version: int,
    thresholds: Thresholds | None = None,
    problem_type: str | None = None,
) -> ValidationResult:
    """Decide whether ``version`` may replace the champion; no champion -> thresholds decide."""
    problem_type = problem_type or config.problem_type()
    thresholds = thresholds or Thresholds()
    candidate = evaluate(platform, names, f"models:/{names.model}/{version}", problem_type)
    result = ValidationResult(passed=True, candidate_version=version, candidate_metrics=candidate)
    for ok, reason in threshold_checks(problem_type, candidate, thresholds):
        result.passed &= ok
        result.reasons.append(reason)

    champion = champion_version(MlflowClient(), names.model)
    result.champion_version = champion
    if champion is None:
        result.reasons.append("no champion yet: thresholds alone decide")
    elif champion == version:
        result.reasons.append(f"version {version} is already the champion")
    else:
        result.champion_metrics = evaluate(
            platform, names, f"models:/{names.model}@champion", problem_type
        )
        ok, reason = compare_with_champion(
            problem_type, candidate, result.champion_metrics, champion, thresholds.min_improvement
        )
        result.passed &= ok
        result.reasons.append(reason)
    return result

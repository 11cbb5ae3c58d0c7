"""Project constants and name composition: the one place that knows what things are called."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# The template's answers; databricks.yml holds the same values for the deployed jobs.
CATALOGS = {
    "dev": "{{ cookiecutter.dev_catalog }}",
    "staging": "{{ cookiecutter.staging_catalog }}",
    "prod": "{{ cookiecutter.prod_catalog }}",
}
PROJECT = "{{ cookiecutter.project_slug }}"
SCHEMA = "{{ cookiecutter.uc_schema }}"
MODEL_NAME = "{{ cookiecutter.model_name }}"
PROBLEM_TYPE = "{{ cookiecutter.problem_type }}"  # or "{{ "regression" if cookiecutter.problem_type == "classification" else "classification" }}"
# Unity Catalog feature tables + FeatureLookup, else plain Delta tables
FEATURE_STORE = {{ "True" if cookiecutter.include_feature_store == "yes" else "False" }}
# Lakehouse Monitoring, drift and quality checks (conf/monitoring.yml), else none
MONITORING = {{ "True" if cookiecutter.include_monitoring == "yes" else "False" }}
# A real-time endpoint serving @champion (conf/serving.yml), else batch scoring only
SERVING = {{ "True" if cookiecutter.include_serving == "yes" else "False" }}

PROBLEM_TYPES = ("classification", "regression")
USER_KEY = "user_id"
ITEM_KEY = "item_id"
LABEL = "target"
# Percentage of label rows (chosen by a hash of the keys) held out for evaluation.
HOLDOUT_PERCENT = 20
RANDOM_STATE = 42


@dataclass(frozen=True)
class Names:
    """Fully qualified Unity Catalog names for one catalog/schema/model."""

    catalog: str
    schema: str
    model_name: str

    def table(self, name: str) -> str:
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def model(self) -> str:
        return self.table(self.model_name)

    @property
    def users(self) -> str:
        return self.table("users")

    @property
    def items(self) -> str:
        return self.table("items")

    @property
    def events(self) -> str:
        return self.table("events")

    @property
    def labels(self) -> str:
        return self.table(f"{self.model_name}_labels")

    @property
    def user_features(self) -> str:
        return self.table("user_features")

    @property
    def item_features(self) -> str:
        return self.table("item_features")

    @property
    def predictions(self) -> str:
        return self.table(f"{self.model_name}_predictions")

    @property
    def serving_table_prefix(self) -> str:
        """Prefix of the serving endpoint's inference tables, e.g. ``<prefix>_payload``."""
        return f"{self.model_name}_serving"

    @property
    def serving_payload(self) -> str:
        """The endpoint's inference table: one row per request, with its latency."""
        return self.table(f"{self.serving_table_prefix}{PAYLOAD_SUFFIX}")

    @property
    def endpoint(self) -> str:
        """The serving endpoint. Endpoints are per workspace, not per catalog, so the name
        carries catalog and schema: targets (and developers) sharing a workspace never clash."""
        return bounded_name(f"{self.catalog}-{self.schema}-{self.model_name}", ENDPOINT_CHARACTERS)

    def online_table(self, offline: str) -> str:
        """The online copy of a feature table, published for the endpoint's feature lookups."""
        return f"{offline}_online"

    @property
    def monitoring_baseline(self) -> str:
        """The champion's scored holdout: what the monitor compares the predictions with."""
        return self.table(f"{self.model_name}_predictions_baseline")

    @classmethod
    def resolve(
        cls,
        target: str = "dev",
        catalog: str | None = None,
        schema: str | None = None,
        model_name: str | None = None,
    ) -> Names:
        """Compose names from a deployment target plus optional overrides.

        A three-part ``model_name`` (what a bundle resolves, possibly with a
        development-mode prefix) also fixes the catalog and schema.
        """
        if target not in CATALOGS:
            raise ValueError(f"Unknown target {target!r}; expected one of {sorted(CATALOGS)}")
        model = model_name or MODEL_NAME
        parts = model.split(".")
        if len(parts) == 3:
            full_catalog, full_schema, model = parts
            for given, found, what in (
                (catalog, full_catalog, "catalog"),
                (schema, full_schema, "schema"),
            ):
                if given and given != found:
                    raise ValueError(f"--{what} {given!r} contradicts model name {model_name!r}")
            catalog, schema = full_catalog, full_schema
        elif len(parts) != 1:
            raise ValueError(f"Model name must have one or three parts, got {model_name!r}")
        return cls(catalog or CATALOGS[target], schema or SCHEMA, model)


# The AI Gateway names an endpoint's inference table <table_name_prefix>_payload.
PAYLOAD_SUFFIX = "_payload"
# Characters allowed in workspace-level names; both are limited to 63 characters.
ENDPOINT_CHARACTERS = r"[A-Za-z0-9_-]"
ONLINE_STORE_CHARACTERS = r"[a-z0-9-]"  # a Lakebase database instance
MAX_WORKSPACE_NAME = 63


def bounded_name(name: str, allowed: str, limit: int = MAX_WORKSPACE_NAME) -> str:
    """``name`` with every character not ``allowed`` replaced by "-", shortened if too long.

    A shortened name ends in a hash of the full one, so two long names stay distinct and the
    same name always maps to the same result.
    """
    name = "".join(c if re.fullmatch(allowed, c) else "-" for c in name)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - len(digest) - 1]}-{digest}"


def online_store(target: str) -> str:
    """The online feature store (a Lakebase instance) the project's tables share in a target."""
    return bounded_name(f"{PROJECT}-{target}".lower(), ONLINE_STORE_CHARACTERS)


def problem_type() -> str:
    """The configured problem type, read at call time so tests can switch it."""
    if PROBLEM_TYPE not in PROBLEM_TYPES:
        raise ValueError(f"PROBLEM_TYPE must be one of {PROBLEM_TYPES}, got {PROBLEM_TYPE!r}")
    return PROBLEM_TYPE


@dataclass(frozen=True)
class Thresholds:
    """Gates a candidate must pass before it may become champion."""

    min_accuracy: float = 0.70
    min_f1: float = 0.55
    max_relative_rmse: float = 0.80  # holdout RMSE divided by the holdout target's std
    min_r2: float = 0.35
    # The candidate must beat the champion's primary metric, by at least this much.
    min_improvement: float = 0.0


# Primary metric per problem type and whether higher is better.
PRIMARY_METRIC = {"classification": ("f1", True), "regression": ("rmse", False)}


def project_file(relative: str) -> Path:
    """A file of the project: the copy packaged into the wheel, else the source checkout's."""
    packaged = Path(__file__).parent / relative
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / relative
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(f"{relative} is neither packaged nor in the project checkout")

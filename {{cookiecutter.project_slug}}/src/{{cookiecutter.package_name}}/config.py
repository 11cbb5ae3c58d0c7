"""Project constants and name composition: the one place that knows what things are called."""

from __future__ import annotations

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

# Percentage of label rows (chosen by a hash of the keys) held out for evaluation.
HOLDOUT_PERCENT = 20
# Columns every inference table has besides the keys, features and label.
PREDICTION = "prediction"
MODEL_VERSION = "model_version"
SCORED_AT = "scored_at"


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
    def predictions(self) -> str:
        """The inference table batch inference appends to."""
        return self.table(f"{self.model_name}_predictions")

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


def project_file(relative: str) -> Path:
    """A file of the project: the copy packaged into the wheel, else the source checkout's."""
    packaged = Path(__file__).parent / relative
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / relative
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(f"{relative} is neither packaged nor in the project checkout")

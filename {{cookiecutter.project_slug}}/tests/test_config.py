import pytest

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.config import Names


def test_names_compose_from_target() -> None:
    names = Names.resolve("staging")
    assert names.model == f"{config.CATALOGS['staging']}.{config.SCHEMA}.{config.MODEL_NAME}"
    assert names.table("x") == f"{config.CATALOGS['staging']}.{config.SCHEMA}.x"
    assert names.predictions == names.table(f"{config.MODEL_NAME}_predictions")


def test_three_part_model_name_sets_catalog_and_schema() -> None:
    names = Names.resolve("dev", model_name="dev_cat.dev_jane_ml.dev_jane_churn")
    assert (names.catalog, names.schema, names.model_name) == (
        "dev_cat",
        "dev_jane_ml",
        "dev_jane_churn",
    )
    assert names.table("x") == "dev_cat.dev_jane_ml.x"


def test_contradicting_overrides_are_rejected() -> None:
    with pytest.raises(ValueError, match="--catalog"):
        Names.resolve("dev", catalog="other", model_name="a.b.c")
    with pytest.raises(ValueError, match="Unknown target"):
        Names.resolve("qa")

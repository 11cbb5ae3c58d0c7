# Databricks notebook source
# MAGIC %md
# MAGIC # Feature engineering
# MAGIC
# MAGIC Builds the model's feature tables from the source tables (`model/features.py`).
# MAGIC Every table passes the data-quality gate (declared columns, null rates, schema changes)
# MAGIC before anything is written; {% if cookiecutter.include_feature_store == "yes" %}they are Unity Catalog feature tables{% else %}they are Delta tables{% endif %}, upserted by key.

# COMMAND ----------

# MAGIC %pip install --quiet ..

# COMMAND ----------

# A workspace notebook runs in its own folder, so `..` above is this project: the package is
# installed with its pinned dependencies, then Python restarts to load them.
dbutils.library.restartPython()

# COMMAND ----------

from {{ cookiecutter.package_name }}.cli import run

# COMMAND ----------

dbutils.widgets.text("target", "dev")
dbutils.widgets.text("model_name", "")

# COMMAND ----------

run(
    [
        "features",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
    ]
)

# Databricks notebook source
# MAGIC %md
# MAGIC # Feature engineering
# MAGIC
# MAGIC Builds the user and item feature tables from the source tables.
# MAGIC Both tables pass the data-quality gate (null rates, schema drift) before anything is
# MAGIC written; with the feature store they are Unity Catalog feature tables, upserted by key.

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
        "--platform",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
    ]
)

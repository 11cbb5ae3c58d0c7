# Databricks notebook source
# MAGIC %md
# MAGIC # Train
# MAGIC
# MAGIC Trains on the label table joined with the feature tables by feature lookup,
# MAGIC logs the run to MLflow and registers a new version of the model, aliased `@challenger`.
# MAGIC The version number is handed to later tasks as the task value `version`.

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
dbutils.widgets.text("experiment", "")

# COMMAND ----------

run(
    [
        "train",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--experiment",
        dbutils.widgets.get("experiment"),
    ]
)

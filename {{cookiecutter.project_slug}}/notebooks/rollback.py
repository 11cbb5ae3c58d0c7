# Databricks notebook source
# MAGIC %md
# MAGIC # Rollback
# MAGIC
# MAGIC Points `@champion` back at the version that was champion before the last promotion.
# MAGIC Fails, changing nothing, when there is nothing to roll back to.

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
dbutils.widgets.text("version", "")  # empty: the champion before the last promotion
version = dbutils.widgets.get("version")

# COMMAND ----------

run(
    [
        "rollback",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        *(["--version", version] if version else []),
    ]
)

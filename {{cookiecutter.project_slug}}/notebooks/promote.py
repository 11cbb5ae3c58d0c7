# Databricks notebook source
# MAGIC %md
# MAGIC # Promote
# MAGIC
# MAGIC Moves `@champion` to the given version and remembers the previous champion,
# MAGIC so a rollback is one call. Refuses a version without a passing validation verdict
# MAGIC against the current champion. Promoting the current champion again changes nothing.

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
dbutils.widgets.text("version", "")

# COMMAND ----------

run(
    [
        "promote",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--version",
        dbutils.widgets.get("version"),
    ]
)

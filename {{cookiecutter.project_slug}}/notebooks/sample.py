# Databricks notebook source
# MAGIC %md
# MAGIC # Sample data
# MAGIC
# MAGIC Writes the deterministic synthetic sample (users, items, events, labels) as the source
# MAGIC tables. Runs only where the bundle variable `sample_data` is true (dev and staging), so a
# MAGIC fresh workspace can run the whole lifecycle before real data is wired in.

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
        "sample",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
    ]
)

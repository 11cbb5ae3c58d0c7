# Databricks notebook source
# MAGIC %md
# MAGIC # Monitor
# MAGIC
# MAGIC Creates or updates the Lakehouse monitor of the inference table once that table exists,
# MAGIC then runs the checks of `conf/monitoring.yml` (model quality, data and prediction drift,
# MAGIC latency, null rates, denied requests in `system.access.audit`). Sets the task values
# MAGIC `retrain`, `alert` and `violations`; the task succeeds either way, so the job can branch.

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
dbutils.widgets.text("assets_dir", "")

# COMMAND ----------

run(
    [
        "monitor",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--assets-dir",
        dbutils.widgets.get("assets_dir"),
    ]
)

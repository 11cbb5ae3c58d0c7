# Databricks notebook source
# MAGIC %md
# MAGIC # Alert
# MAGIC
# MAGIC Runs only when the monitor task found violations: fails with them, so the job's failure
# MAGIC e-mail reaches the alert address (also the security contact for the access audit).

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
dbutils.widgets.text("violations", "")

# COMMAND ----------

run(
    [
        "alert",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--violations",
        dbutils.widgets.get("violations"),
    ]
)

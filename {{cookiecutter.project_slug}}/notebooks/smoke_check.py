# Databricks notebook source
# MAGIC %md
# MAGIC # Smoke check the serving endpoint
# MAGIC
# MAGIC Queries the endpoint with requests built from the champion's signature and real rows. Fails
# MAGIC on any error, a wrong number of predictions, or a p99 above the budget by the endpoint's own
# MAGIC timing (`execution_duration_ms` of these requests in its inference table; if the table has
# MAGIC not logged them within 15 minutes, the latency is reported as not judged).

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
        "smoke-check",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
    ]
)

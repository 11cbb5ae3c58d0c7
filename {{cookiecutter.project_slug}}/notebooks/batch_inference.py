# Databricks notebook source
# MAGIC %md
# MAGIC # Batch inference
# MAGIC
# MAGIC Scores a table with the `@champion` version and appends the results (keys, features,
# MAGIC prediction, label when known, model version, timestamp) to the inference table{% if cookiecutter.include_monitoring == "yes" %} that
# MAGIC Lakehouse Monitoring watches{% endif %}.

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
dbutils.widgets.text("input_table", "")

# COMMAND ----------

run(
    [
        "batch-inference",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--input-table",
        dbutils.widgets.get("input_table"),
    ]
)

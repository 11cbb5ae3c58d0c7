# Databricks notebook source
# MAGIC %md
# MAGIC # Validate
# MAGIC
# MAGIC Scores the candidate version and the current `@champion` on the same holdout
# MAGIC and checks the limits of `conf/thresholds.yml`. Records the verdict on the version (the
# MAGIC promote task requires a passing one) and sets the task value `passed` (true/false).
# MAGIC With `--exit-zero` the task succeeds on a failed verdict too, so the job's `passed`
# MAGIC condition branches on it; an error still fails the task.

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
        "validate",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--version",
        dbutils.widgets.get("version"),
        "--exit-zero",
    ]
)

# Databricks notebook source
# MAGIC %md
# MAGIC # Deploy the serving endpoint
# MAGIC
# MAGIC Points the real-time endpoint at the `@champion` version (creating it the first time),
# MAGIC with its inference table, its size for the target from `conf/serving.yml` and query rights
# MAGIC for the readers.{% if cookiecutter.include_feature_store == "yes" %} Publishes the feature tables to the online store first, so
# MAGIC requests carry only keys.{% endif %}

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
dbutils.widgets.text("reader_group", "")
dbutils.widgets.text("developer_group", "")
dbutils.widgets.text("alert_email", "")

# COMMAND ----------

run(
    [
        "deploy-endpoint",
        "--runtime",
        "databricks",
        "--target",
        dbutils.widgets.get("target"),
        "--model-name",
        dbutils.widgets.get("model_name"),
        "--reader-group",
        dbutils.widgets.get("reader_group"),
        "--developer-group",
        dbutils.widgets.get("developer_group"),
        "--alert-email",
        dbutils.widgets.get("alert_email"),
    ]
)

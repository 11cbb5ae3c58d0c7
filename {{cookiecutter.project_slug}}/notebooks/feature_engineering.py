# Databricks notebook source
# MAGIC %md
# MAGIC # Feature engineering
# MAGIC
# MAGIC Computes the user and item feature tables from the source tables, checks their quality (null rates, schema) and merges them into{% if cookiecutter.include_feature_store == "yes" %} Unity Catalog feature tables{% else %} Delta tables{% endif %}.
# MAGIC
# MAGIC A thin entry point: the job passes its parameters as widgets and the package does the work,
# MAGIC exactly as `python -m {{ cookiecutter.package_name }}` does on a laptop.

# COMMAND ----------

# MAGIC %pip install --quiet ..

# COMMAND ----------

dbutils.library.restartPython()

# COMMAND ----------

from {{ cookiecutter.package_name }} import cli

names = ['catalog', 'schema', 'model_name', 'sample_data']
params = {name: dbutils.widgets.get(name) for name in names}
project_args = ["--platform", "databricks", "--catalog", params["catalog"], "--schema", params["schema"]]
project_args += ["--model-name", params["model_name"]]
cli.main(["features", *project_args, "--sample-data", params["sample_data"]])

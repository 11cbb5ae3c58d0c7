# Databricks notebook source
# MAGIC %md
# MAGIC # Batch inference
# MAGIC
# MAGIC Scores the latest rows with the `champion` version and appends them to the inference table.
# MAGIC
# MAGIC A thin entry point: the job passes its parameters as widgets and the package does the work,
# MAGIC exactly as `python -m {{ cookiecutter.package_name }}` does on a laptop.

# COMMAND ----------

# MAGIC %pip install --quiet ..

# COMMAND ----------

dbutils.library.restartPython()

# COMMAND ----------

from {{ cookiecutter.package_name }} import cli

names = ['catalog', 'schema', 'model_name']
params = {name: dbutils.widgets.get(name) for name in names}
project_args = ["--platform", "databricks", "--catalog", params["catalog"], "--schema", params["schema"]]
project_args += ["--model-name", params["model_name"]]
cli.main(["batch-inference", *project_args])

# Databricks notebook source
# MAGIC %md
# MAGIC # Rollback
# MAGIC
# MAGIC Points the `champion` alias back to the previous champion, or to the version given.
# MAGIC
# MAGIC A thin entry point: the job passes its parameters as widgets and the package does the work,
# MAGIC exactly as `python -m {{ cookiecutter.package_name }}` does on a laptop.

# COMMAND ----------

# MAGIC %pip install --quiet ..

# COMMAND ----------

dbutils.library.restartPython()

# COMMAND ----------

from {{ cookiecutter.package_name }} import cli

names = ['catalog', 'schema', 'model_name', 'version']
params = {name: dbutils.widgets.get(name) for name in names}
project_args = ["--platform", "databricks", "--catalog", params["catalog"], "--schema", params["schema"]]
project_args += ["--model-name", params["model_name"]]
cli.main(["rollback", *project_args, *(["--version", params["version"]] if params["version"] else [])])

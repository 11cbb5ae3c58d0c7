# Databricks notebook source
# MAGIC %md
# MAGIC # Train {{ cookiecutter.model_name }}
# MAGIC
# MAGIC The training step of the training job, one step a cell: run it top to bottom to explore,
# MAGIC and what you see is what production trains. Each cell calls the package
# MAGIC (`src/{{ cookiecutter.package_name }}/train.py`), as `python -m {{ cookiecutter.package_name }} train` does.
# MAGIC
# MAGIC Widgets: `target` (dev, staging, prod), `model_name` (the model, or the full
# MAGIC `catalog.schema.model` the job passes), `experiment` (the bundle's training experiment,
# MAGIC `<bundle root>/{{ cookiecutter.model_name }}_experiment`; required on Databricks).

# COMMAND ----------

# Installs this project unless it is importable at its version (a wheel `bundle deploy` built
# may carry a +<build> label). Classic compute: the task's library, that wheel, is installed, so
# nothing happens. Serverless: notebook tasks take no job environment (only Python script, wheel
# and dbt tasks do: docs.databricks.com/dev-tools/bundles/resource-examples.html), so the notebook
# installs `..` (it runs in its own folder: this project) as a notebook-scoped library, then
# restarts Python to load it (docs.databricks.com/libraries/notebooks-python-libraries.html;
# pip runs in a subprocess because a %pip cell cannot be conditional).
import importlib.metadata
import pathlib
import re
import subprocess
import sys

pyproject = pathlib.Path("../pyproject.toml").read_text()
wanted = re.search(r'^version = "(.+)"', pyproject, re.MULTILINE).group(1)
try:
    installed = importlib.metadata.version({{ cookiecutter.project_slug | tojson }}).split("+")[0]
except importlib.metadata.PackageNotFoundError:
    installed = None
if installed != wanted:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", ".."], check=True)
    dbutils.library.restartPython()

# COMMAND ----------

from {{ cookiecutter.package_name }}.config import Names
from {{ cookiecutter.package_name }}.runtime import get_runtime
from {{ cookiecutter.package_name }}.train import (
    build_training_sets,
    fit,
    hand_over,
    log_and_register,
)

# COMMAND ----------

dbutils.widgets.text("target", "dev")
dbutils.widgets.text("model_name", "")
dbutils.widgets.text("experiment", "")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Where: tables, model and experiment of the target

# COMMAND ----------

runtime = get_runtime()
runtime.configure_mlflow()
names = Names.resolve(
    dbutils.widgets.get("target"), model_name=dbutils.widgets.get("model_name") or None
)
experiment = runtime.use_experiment(names, dbutils.widgets.get("experiment"))
print(f"model {names.model}, experiment {experiment}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## The training set
# MAGIC
# MAGIC The label rows joined with the feature tables by key; the holdout (chosen by a hash of the
# MAGIC keys) is the set validation scores both the challenger and the champion on.

# COMMAND ----------

training, holdout = build_training_sets(runtime, names)
display(training.df)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Fit and score the holdout

# COMMAND ----------

fitted = fit(training, holdout)
print(f"{fitted.train_rows} training rows, {fitted.holdout_rows} holdout rows")
display(fitted.example)
print(fitted.metrics)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Log to MLflow and register a new version
# MAGIC
# MAGIC The new version becomes `@challenger`; in a job run its number is the task value `version`,
# MAGIC which the validate and promote tasks read.

# COMMAND ----------

result = log_and_register(runtime, names, fitted)
hand_over(runtime, result)
print(f"registered {result.model_name} version {result.version} as @challenger")

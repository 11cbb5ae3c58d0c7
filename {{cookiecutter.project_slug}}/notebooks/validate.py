# Databricks notebook source
# MAGIC %md
# MAGIC # Validate a version of {{ cookiecutter.model_name }}
# MAGIC
# MAGIC The validate step of the training job: scores the version and the current `@champion` on
# MAGIC the same holdout and checks the limits of `conf/thresholds.yml`, as
# MAGIC `python -m {{ cookiecutter.package_name }} validate` does
# MAGIC (`src/{{ cookiecutter.package_name }}/validation.py`).
# MAGIC It records the verdict on the version (promotion requires a passing one) and sets the task
# MAGIC value `passed`, which the job's `passed` condition reads: a failed verdict does not fail
# MAGIC this task, an error does.
# MAGIC
# MAGIC Widgets: `target` (dev, staging, prod), `model_name` (the model, or the full
# MAGIC `catalog.schema.model` the job passes), `version` (in a job run, the train task's task
# MAGIC value `version`).

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
from {{ cookiecutter.package_name }}.model import MODEL
from {{ cookiecutter.package_name }}.runtime import get_runtime
from {{ cookiecutter.package_name }}.settings import load_thresholds
from {{ cookiecutter.package_name }}.validation import validate_and_record

# COMMAND ----------

dbutils.widgets.text("target", "dev")
dbutils.widgets.text("model_name", "")
dbutils.widgets.text("version", "")

# COMMAND ----------

runtime = get_runtime()
runtime.configure_mlflow()
names = Names.resolve(
    dbutils.widgets.get("target"), model_name=dbutils.widgets.get("model_name") or None
)
thresholds = load_thresholds(MODEL)
print(f"model {names.model}, thresholds {thresholds.source}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## The verdict
# MAGIC
# MAGIC Each absolute limit, then the comparison with the champion (none yet: the limits decide).

# COMMAND ----------

result = validate_and_record(runtime, names, dbutils.widgets.get("version"), thresholds)
print(result.report())

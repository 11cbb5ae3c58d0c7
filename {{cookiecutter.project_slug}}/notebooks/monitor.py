# Databricks notebook source
# MAGIC %md
# MAGIC # Monitor {{ cookiecutter.model_name }}
# MAGIC
# MAGIC The monitor step of the monitoring job, as
# MAGIC `python -m {{ cookiecutter.package_name }} monitor` does
# MAGIC (`src/{{ cookiecutter.package_name }}/monitoring/run.py`):
# MAGIC creates or updates the Lakehouse monitor of the inference table once that table exists,
# MAGIC then runs the checks of `conf/thresholds.yml` (`monitoring`) and `conf/monitoring.yml`:
# MAGIC model quality, data and prediction drift, latency, null rates, denied requests in
# MAGIC `system.access.audit`. It sets the task values `retrain`, `alert` and `violations`, which
# MAGIC the job's conditions and alert task read; violations do not fail this task, an error does.
# MAGIC
# MAGIC Widgets: `target` (dev, staging, prod), `model_name` (the model, or the full
# MAGIC `catalog.schema.model` the job passes), `assets_dir` (workspace folder of the monitor's
# MAGIC dashboard; empty: the default).

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
from {{ cookiecutter.package_name }}.monitoring.run import monitor_and_hand_over
from {{ cookiecutter.package_name }}.monitoring.settings import load_config
from {{ cookiecutter.package_name }}.runtime import get_runtime
from {{ cookiecutter.package_name }}.settings import load_thresholds

# COMMAND ----------

dbutils.widgets.text("target", "dev")
dbutils.widgets.text("model_name", "")
dbutils.widgets.text("assets_dir", "")

# COMMAND ----------

runtime = get_runtime()
runtime.configure_mlflow()
names = Names.resolve(
    dbutils.widgets.get("target"), model_name=dbutils.widgets.get("model_name") or None
)
config = load_config(load_thresholds(MODEL), MODEL)
print(f"model {names.model}, inference table {names.predictions}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## The checks
# MAGIC
# MAGIC Each check with its value and limit, then the decision: retrain, alert, or nothing to do.

# COMMAND ----------

verdict = monitor_and_hand_over(runtime, names, config, dbutils.widgets.get("assets_dir"))
print(verdict.report())

"""The monitoring part of a rendered project: conf/monitoring.yml holds the seed's thresholds once,
its monitor is a valid quality monitor for the answered problem type, and the monitoring job, the
notifications and the schedules agree with it."""

import ast
import re

import yaml
from databricks.bundles.quality_monitors import QualityMonitor
from test_bundle import load

# The seed's checks (DESIGN.md, monitoring): check -> (limit key, limit, action).
SEED = {
    "model_quality": ("max_relative_drop", 0.05, "retrain"),
    "data_drift": ("max_psi", 0.2, "alert"),
    "prediction_drift": ("max_change", 0.10, "alert"),
    "latency": ("max_p99_ms", 200, "alert"),
    "data_quality": ("max_null_rate", 0.05, "block"),
    "access_audit": ("max_denied", 0, "alert"),
}
MONITORING_FILES = (
    "conf/monitoring.yml",
    "resources/monitoring.yml",
    "sql/access_audit.sql",
    "notebooks/monitor.py",
    "notebooks/alert.py",
)


def conf(project):
    return yaml.safe_load((project / "conf" / "monitoring.yml").read_text())


def cron_hour(expression):
    seconds, minutes, hours, *_ = expression.split()
    assert (seconds, minutes) == ("0", "0"), expression
    return int(hours)


def monitoring_on(project, answers):
    on = answers["include_monitoring"] == "yes"
    for name in MONITORING_FILES:
        assert (project / name).exists() == on, name
    assert (project / "src" / answers["package_name"] / "monitoring.py").exists() == on
    return on


def test_thresholds_are_the_seeds_and_set_once(project, answers):
    if not monitoring_on(project, answers):
        return
    checks = conf(project)["checks"]
    assert set(checks) == set(SEED)
    for check, (key, limit, action) in SEED.items():
        assert checks[check][key] == limit, check
        assert checks[check]["action"] == action, check
    metric = "accuracy" if answers["problem_type"] == "classification" else "rmse"
    assert checks["model_quality"]["metric"] == metric
    # The limits live in conf/monitoring.yml only: no bundle file repeats them.
    for path in (project / "resources").glob("*.yml"):
        text = path.read_text()
        for key, _, _ in SEED.values():
            assert key not in text, f"{path.name} repeats {key}"


def test_quality_gate_default_equals_the_conf(project, answers):
    # Without monitoring the gate uses its constant; with it, conf/monitoring.yml. Both must agree.
    source = (project / "src" / answers["package_name"] / "features" / "quality.py").read_text()
    constants = {
        node.targets[0].id: node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    }
    assert constants["MAX_NULL_RATE"] == SEED["data_quality"][1]
    if monitoring_on(project, answers):
        assert (
            conf(project)["checks"]["data_quality"]["max_null_rate"] == constants["MAX_NULL_RATE"]
        )


def test_monitor_is_a_valid_quality_monitor_for_the_problem_type(project, answers):
    if not monitoring_on(project, answers):
        return
    monitor = conf(project)["monitor"]
    catalog, schema, model = answers["prod_catalog"], answers["uc_schema"], answers["model_name"]
    # The names the monitor command adds (monitoring.monitor_spec), composed as config.Names does.
    spec = {
        "table_name": f"{catalog}.{schema}.{model}_predictions",
        "baseline_table_name": f"{catalog}.{schema}.{model}_predictions_baseline",
        "output_schema_name": f"{catalog}.{schema}",
        "assets_dir": "/Workspace/Users/someone/.bundle/x/prod/monitoring",
        **monitor,
    }
    QualityMonitor.from_dict(spec)
    log = monitor["inference_log"]
    assert log["problem_type"] == f"PROBLEM_TYPE_{answers['problem_type'].upper()}"
    assert log["granularities"] == ["1 day"]
    assert (log["prediction_col"], log["label_col"]) == ("prediction", "target")
    assert (log["model_id_col"], log["timestamp_col"]) == ("model_version", "scored_at")
    # Those columns are the ones batch inference writes.
    package = project / "src" / answers["package_name"]
    inference = (package / "inference.py").read_text()
    for column in ("model_version", "scored_at", "prediction"):
        assert re.search(rf"[\"']{column}[\"']", inference), column
    assert re.search(r'^LABEL = "target"$', (package / "config.py").read_text(), re.M)
    assert 'f"{self.model_name}_predictions"' in (package / "config.py").read_text()


def test_notifications_reach_the_alert_address(project, answers):
    if not monitoring_on(project, answers):
        return
    settings = conf(project)
    assert settings["alerts"]["email"] == answers["alert_email"]
    assert settings["monitor"]["notifications"]["on_failure"]["email_addresses"] == [
        answers["alert_email"]
    ]
    bundle = load(project)
    assert bundle["variables"]["alert_email"]["default"] == answers["alert_email"]
    job = bundle["resources"]["jobs"]["monitoring"]
    assert job["email_notifications"]["on_failure"] == ["${var.alert_email}"]


def test_monitoring_job_retrains_and_alerts(project, answers):
    if not monitoring_on(project, answers):
        assert "monitoring" not in load(project)["resources"]["jobs"]
        return
    resources = load(project)["resources"]
    # The monitor is created by the monitor task once its table exists, not by the bundle.
    assert "quality_monitors" not in resources
    job = resources["jobs"]["monitoring"]
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert tasks["monitor"]["notebook_task"]["notebook_path"] == "../notebooks/monitor.py"
    retrain_gate = tasks["needs_retraining"]["condition_task"]
    assert retrain_gate == {
        "op": "EQUAL_TO",
        "left": "{{tasks.monitor.values.retrain}}",
        "right": "true",
    }
    assert tasks["retrain"]["depends_on"] == [{"task_key": "needs_retraining", "outcome": "true"}]
    assert tasks["retrain"]["run_job_task"]["job_id"] == "${resources.jobs.training.id}"
    assert tasks["has_violations"]["condition_task"]["left"] == "{{tasks.monitor.values.alert}}"
    assert tasks["alert"]["depends_on"] == [{"task_key": "has_violations", "outcome": "true"}]
    assert tasks["alert"]["notebook_task"]["notebook_path"] == "../notebooks/alert.py"
    parameters = {p["name"]: p["default"] for p in job["parameters"]}
    assert parameters["assets_dir"].startswith("${workspace.root_path}/")
    # Daily, in order: batch inference, then the monitor's refresh, then the checks.
    batch = resources["jobs"]["batch_inference"]["schedule"]
    refresh = conf(project)["monitor"]["schedule"]
    for schedule in (batch, refresh, job["schedule"]):
        assert schedule["quartz_cron_expression"].endswith("* * ?")
    hours = [cron_hour(s["quartz_cron_expression"]) for s in (batch, refresh, job["schedule"])]
    assert hours == sorted(set(hours)), hours

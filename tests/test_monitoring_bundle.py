"""The monitoring part of a rendered project: conf/thresholds.yml holds the seed's thresholds once
(no Python or bundle file repeats one), conf/monitoring.yml's monitor is a valid quality monitor for
the answered problem type, and the monitoring job, the notifications and the schedules agree."""

import re

import yaml
from databricks.bundles.quality_monitors import QualityMonitor
from test_bundle import load

# The seed's checks (DESIGN.md, monitoring): check -> (section holding the limit, limit key,
# limit, action). Latency and null rates share their limit with the smoke check and the gate.
SEED = {
    "model_quality": ("monitoring.model_quality", "max_relative_drop", 0.05, "retrain"),
    "data_drift": ("monitoring.data_drift", "max_psi", 0.2, "alert"),
    "prediction_drift": ("monitoring.prediction_drift", "max_change", 0.10, "alert"),
    "latency": ("latency", "max_p99_ms", 200, "alert"),
    "data_quality": ("data_quality", "max_null_rate", 0.05, "alert"),
    "access_audit": ("monitoring.access_audit", "max_denied", 0, "alert"),
}
# The promotion limits per problem type: metric -> (bound, limit).
PROMOTION = {
    "classification": {"accuracy": ("min", 0.70), "f1": ("min", 0.55)},
    "regression": {"relative_rmse": ("max", 0.80), "r2": ("min", 0.35)},
}
MONITORING_FILES = (
    "conf/monitoring.yml",
    "resources/monitoring.yml",
    "sql/access_audit.sql",
)


def conf(project):
    return yaml.safe_load((project / "conf" / "monitoring.yml").read_text())


def thresholds(project):
    return yaml.safe_load((project / "conf" / "thresholds.yml").read_text())


def section(settings, dotted):
    for key in dotted.split("."):
        settings = settings[key]
    return settings


def cron_hour(expression):
    seconds, minutes, hours, *_ = expression.split()
    assert (seconds, minutes) == ("0", "0"), expression
    return int(hours)


def monitoring_on(project, answers):
    on = answers["include_monitoring"] == "yes"
    for name in MONITORING_FILES:
        assert (project / name).exists() == on, name
    assert (project / "src" / answers["package_name"] / "monitoring").is_dir() == on
    return on


def test_thresholds_are_the_seeds_and_set_once(project, answers):
    settings = thresholds(project)
    limits = settings["promotion"]["limits"]
    expected = PROMOTION[answers["problem_type"]]
    assert {metric: next(iter(bound.items())) for metric, bound in limits.items()} == expected
    assert settings["data_quality"] == {"max_null_rate": 0.05, "action": "block"}
    limit_keys = {"min_improvement", "max_null_rate"} | {key for _, key, _, _ in SEED.values()}
    if monitoring_on(project, answers):
        checks = settings["monitoring"]
        assert set(checks) == set(SEED)
        for check, (where, key, limit, action) in SEED.items():
            assert section(settings, where)[key] == limit, check
            assert checks[check]["action"] == action, check
        metric = "accuracy" if answers["problem_type"] == "classification" else "rmse"
        assert checks["model_quality"]["metric"] == metric
    else:
        assert "monitoring" not in settings
    # The limits live in conf/thresholds.yml only: no bundle file repeats them (the project's
    # tests/test_settings.py shows that each of them changes a decision).
    for path in (project / "resources").glob("*.yml"):
        text = path.read_text()
        for key in limit_keys:
            assert key not in text, f"{path.name} repeats {key}"


def test_monitor_is_a_valid_quality_monitor_for_the_problem_type(project, answers):
    if not monitoring_on(project, answers):
        return
    monitor = conf(project)["monitor"]
    assert set(monitor) == {"granularities", "schedule", "notifications"}
    catalog, schema, model = answers["prod_catalog"], answers["uc_schema"], answers["model_name"]
    # What monitoring/run.py's monitor_spec adds: names composed as config.Names does, and the
    # columns batch inference writes (config.py) with the label of the model contract.
    spec = {
        "table_name": f"{catalog}.{schema}.{model}_predictions",
        "baseline_table_name": f"{catalog}.{schema}.{model}_predictions_baseline",
        "output_schema_name": f"{catalog}.{schema}",
        "assets_dir": "/Workspace/Users/someone/.bundle/x/prod/monitoring",
        "inference_log": {
            "problem_type": f"PROBLEM_TYPE_{answers['problem_type'].upper()}",
            "prediction_col": "prediction",
            "label_col": "target",
            "model_id_col": "model_version",
            "timestamp_col": "scored_at",
            "granularities": monitor["granularities"],
        },
        "schedule": monitor["schedule"],
        "notifications": monitor["notifications"],
    }
    QualityMonitor.from_dict(spec)
    assert monitor["granularities"] == ["1 day"]
    package = project / "src" / answers["package_name"]
    config = (package / "config.py").read_text()
    for constant, column in (
        ("PREDICTION", "prediction"),
        ("MODEL_VERSION", "model_version"),
        ("SCORED_AT", "scored_at"),
    ):
        assert re.search(rf'^{constant} = "{column}"$', config, re.M), column
    assert re.search(r'^LABEL = "target"$', (package / "model" / "data.py").read_text(), re.M)
    assert 'f"{self.model_name}_predictions"' in config
    run = (package / "monitoring" / "run.py").read_text()
    assert '"problem_type": f"PROBLEM_TYPE_{model.problem_type.upper()}"' in run


def test_notifications_reach_the_alert_address(project, answers):
    if not monitoring_on(project, answers):
        return
    settings = conf(project)
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
    # A notebook: it sets the task values below, which only Python notebooks can.
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
    alert = tasks["alert"]["python_wheel_task"]["parameters"]
    assert alert[0] == "alert"
    assert alert[alert.index("--violations") + 1] == "{{tasks.monitor.values.violations}}"
    parameters = {p["name"]: p["default"] for p in job["parameters"]}
    assert parameters["assets_dir"].startswith("${workspace.root_path}/")
    # Daily, in order: batch inference, then the monitor's refresh, then the checks.
    batch = resources["jobs"]["batch_inference"]["schedule"]
    refresh = conf(project)["monitor"]["schedule"]
    for schedule in (batch, refresh, job["schedule"]):
        assert schedule["quartz_cron_expression"].endswith("* * ?")
    hours = [cron_hour(s["quartz_cron_expression"]) for s in (batch, refresh, job["schedule"])]
    assert hours == sorted(set(hours)), hours

"""The serving part of a rendered project: a serving job that the training job runs after each
promotion and the rollback job after each rollback, conf/serving.yml with the sizes per target and
one latency budget, and no endpoint resource that a fresh deploy could not create."""

import yaml
from test_bundle import load
from test_monitoring_bundle import SEED

SERVING_FILES = (
    "conf/serving.yml",
    "resources/serving.yml",
)


def serving_on(project, answers):
    on = answers["include_serving"] == "yes"
    for name in SERVING_FILES:
        assert (project / name).exists() == on, name
    assert (project / "src" / answers["package_name"] / "serving").is_dir() == on
    return on


def tasks(job):
    return {task["task_key"]: task for task in job["tasks"]}


def test_promotion_and_rollback_redeploy_the_endpoint(project, answers):
    jobs = load(project)["resources"]["jobs"]
    on = serving_on(project, answers)
    assert ("serving" in jobs) == on
    for job, after in (("training", "promote"), ("rollback", "rollback")):
        serve = tasks(jobs[job]).get("serve")
        assert (serve is not None) == on, f"{job}: serve task iff serving"
        if on:
            assert serve["depends_on"] == [{"task_key": after}]
            assert serve["run_job_task"]["job_id"] == "${resources.jobs.serving.id}"
    if not on:
        return
    serving = jobs["serving"]
    steps = tasks(serving)
    assert list(steps) == ["deploy_endpoint", "smoke_check"]
    assert steps["smoke_check"]["depends_on"] == [{"task_key": "deploy_endpoint"}]
    # A promotion and a rollback must not update the endpoint at the same time.
    assert serving["max_concurrent_runs"] == 1
    parameters = {p["name"]: p["default"] for p in serving["parameters"]}
    for variable in ("reader_group", "developer_group", "alert_email"):
        assert parameters[variable] == f"${{var.{variable}}}"
    assert parameters["target"] == "${bundle.target}"


def test_no_endpoint_resource(project, answers):
    # The endpoint serves a version that does not exist at the first deploy, and a version pinned
    # in the bundle would undo every promotion on the next deploy: the serving job owns it.
    resources = load(project)["resources"]
    assert "model_serving_endpoints" not in resources
    if serving_on(project, answers):
        text = (project / "resources" / "serving.yml").read_text()
        assert "not a bundle resource" in text


def test_sizes_and_the_one_latency_budget(project, answers):
    if not serving_on(project, answers):
        return
    conf = yaml.safe_load((project / "conf" / "serving.yml").read_text())
    sizes = conf["endpoint"]["targets"]
    assert set(sizes) == {"dev", "staging", "prod"}
    assert sizes["dev"]["scale_to_zero"] is True
    assert sizes["staging"]["scale_to_zero"] is True
    assert sizes["prod"]["scale_to_zero"] is False
    assert {size["workload_size"] for size in sizes.values()} <= {"Small", "Medium", "Large"}
    where, budget_key, seed_budget, _ = SEED["latency"]
    # Set once, in conf/thresholds.yml; the smoke check (and the monitoring check) read it there.
    assert budget_key not in conf["smoke_check"]
    settings = yaml.safe_load((project / "conf" / "thresholds.yml").read_text())
    assert settings[where][budget_key] == seed_budget
    online = conf.get("online_store")
    assert (online is not None) == (answers["include_feature_store"] == "yes")
    if online:
        assert online["capacity"] in {"CU_1", "CU_2", "CU_4", "CU_8"}


def test_settings_travel_with_the_package(project, answers):
    if not serving_on(project, answers):
        return
    pyproject = (project / "pyproject.toml").read_text()
    package = answers["package_name"]
    assert f'"conf/serving.yml" = "{package}/conf/serving.yml"' in pyproject
    assert f'"conf/thresholds.yml" = "{package}/conf/thresholds.yml"' in pyproject
    assert '"PyYAML==' in pyproject

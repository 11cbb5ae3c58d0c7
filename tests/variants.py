"""The variants the suite renders.

Options that change each other's output are crossed (feature store x serving x monitoring x problem
type); the independent ones (cloud, CI platform, compute, naming) are cycled across that list so every
value appears at least once without multiplying the matrix. ``UC_MLOPS_FAST=1`` keeps a small
representative subset for the inner loop.
"""

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())

CROSSED = ("include_feature_store", "include_serving", "include_monitoring", "problem_type")
CYCLED = ("cloud", "cicd_platform", "compute")

# Non-default names exercise every place a name is composed (catalogs, schema, model, groups, hosts).
CUSTOM_NAMES = {
    "project_name": "Fraud Detector 2",
    "model_name": "fraud_classifier_v2",
    "description": 'Flags "suspicious" card payments; it\'s scored nightly \\ in real time.',
    "uc_schema": "risk_ml",
    "dev_catalog": "ml_dev",
    "staging_catalog": "ml_staging",
    "prod_catalog": "ml_prod",
    "reader_group": "Risk Analysts",
    "developer_group": "risk-ml-engineers",
    "alert_email": "risk.alerts+ml@bank.example.org",
    "default_branch": "develop",
    "release_branch": "releases/prod",
}
CUSTOM_HOSTS = {
    "azure": "https://adb-2222222222222222.12.azuredatabricks.net/?o=2222222222222222",
    "aws": "https://dbc-2a2a2a2a-2b2b.cloud.databricks.com/",
    "gcp": "https://2222222222222222.2.gcp.databricks.com",
}


def variant_id(answers):
    short = {"yes": "y", "no": "n", "classification": "clf", "regression": "reg"}
    parts = [
        f"fs{short[answers['include_feature_store']]}",
        f"sv{short[answers['include_serving']]}",
    ]
    parts += [f"mon{short[answers['include_monitoring']]}", short[answers["problem_type"]]]
    parts += [answers["cloud"], answers["cicd_platform"], answers["compute"]]
    if answers.get("model_name") == CUSTOM_NAMES["model_name"]:
        parts.append("custom")
    return "-".join(parts)


def all_variants():
    # Every crossed combination is supported today; an unsupported one would be filtered out here
    # and refused by the pre-generation hook.
    crossed = [
        dict(zip(CROSSED, values, strict=True))
        for values in itertools.product(*(QUESTIONS[key] for key in CROSSED))
    ]
    variants = []
    for index, answers in enumerate(crossed):
        for key in CYCLED:
            options = QUESTIONS[key]
            answers[key] = options[index % len(options)]
        if index % 4 in (1, 2):
            answers.update(CUSTOM_NAMES)
            host = CUSTOM_HOSTS[answers["cloud"]]
            answers.update(dev_workspace_host=host, staging_workspace_host=host)
            answers["prod_workspace_host"] = host.replace("2222", "3333").replace("2a2a", "3a3a")
        variants.append(answers)
    return variants


def selected_variants():
    variants = all_variants()
    if os.environ.get("UC_MLOPS_FAST"):
        # The defaults, the leanest, and a custom-named one serving without the feature store.
        variants = [variants[0], variants[-1], variants[9]]
    return {variant_id(answers): answers for answers in variants}


def copy_working_tree(destination):
    """Copies the template as its working tree stands (tracked and new files, not ignored ones) into
    `destination`: what a clone of the next commit would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = TEMPLATE / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)

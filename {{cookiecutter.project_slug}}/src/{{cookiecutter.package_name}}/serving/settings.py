"""conf/serving.yml, plus the one latency budget of conf/thresholds.yml."""

from __future__ import annotations

from dataclasses import dataclass
{%- if cookiecutter.include_feature_store == "yes" %}
from datetime import timedelta
{%- endif %}
from pathlib import Path

import yaml

from ..config import CATALOGS, project_file
from ..settings import Thresholds

CONFIG_FILE = "conf/serving.yml"
WORKLOAD_SIZES = ("Small", "Medium", "Large")
{%- if cookiecutter.include_feature_store == "yes" %}
CAPACITIES = ("CU_1", "CU_2", "CU_4", "CU_8")
{%- endif %}


@dataclass(frozen=True)
class EndpointSize:
    workload_size: str
    scale_to_zero: bool


{%- if cookiecutter.include_feature_store == "yes" %}


@dataclass(frozen=True)
class OnlineStoreSettings:
    """The online feature store: its Lakebase capacity, and how long a refresh waits for a sync
    pipeline that is already running (the first sync after publishing, or another run's)."""

    capacity: str
    sync_timeout: timedelta
{%- endif %}


@dataclass(frozen=True)
class ServingConfig:
    sizes: dict[str, EndpointSize]
    smoke_requests: int
    # p99 budget of the endpoint: conf/thresholds.yml latency.max_p99_ms.
    max_p99_ms: float
{%- if cookiecutter.include_feature_store == "yes" %}
    # The online feature store (conf/serving.yml online_store).
    online_store: OnlineStoreSettings
{%- endif %}


def load_config(thresholds: Thresholds, path: str | Path | None = None) -> ServingConfig:
    """Parse and check conf/serving.yml; a missing or unknown value is an error, not a default."""
    source = Path(path) if path else project_file(CONFIG_FILE)
    raw = yaml.safe_load(source.read_text())
    targets = raw["endpoint"]["targets"]
    if set(targets) != set(CATALOGS):
        raise ValueError(f"{source}: endpoint.targets must be exactly {sorted(CATALOGS)}")
    sizes = {}
    for target, spec in targets.items():
        if spec["workload_size"] not in WORKLOAD_SIZES:
            raise ValueError(f"{source}: {target}.workload_size must be one of {WORKLOAD_SIZES}")
        sizes[target] = EndpointSize(spec["workload_size"], bool(spec["scale_to_zero"]))
{%- if cookiecutter.include_feature_store == "yes" %}
    capacity = raw["online_store"]["capacity"]
    if capacity not in CAPACITIES:
        raise ValueError(f"{source}: online_store.capacity must be one of {CAPACITIES}")
    sync_minutes = float(raw["online_store"]["sync_timeout_minutes"])
    if sync_minutes <= 0:
        raise ValueError(f"{source}: online_store.sync_timeout_minutes must be positive")
    online = OnlineStoreSettings(capacity, timedelta(minutes=sync_minutes))
{%- endif %}
    budget = float(thresholds.raw["latency"]["max_p99_ms"])
    requests = int(raw["smoke_check"]["requests"])
    return ServingConfig(sizes, requests, budget{% if cookiecutter.include_feature_store == "yes" %}, online{% endif %})

{%- set fs = cookiecutter.include_feature_store == "yes" -%}
"""Endpoints of a Databricks workspace, through the databricks-sdk serving API.

Created with create_and_wait the first time; afterwards brought to the spec only where it
differs (served entity and size, inference tables, tags, notifications), after waiting for any
update still rolling out.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from ..runtime.databricks import DatabricksRuntime
from .backend import Endpoints
from .endpoint import EndpointSpec
{%- if fs %}
from .online_store import publish_online_features
from .settings import OnlineStoreSettings
{%- endif %}


class DatabricksEndpoints(Endpoints):
    """The workspace's serving endpoints{% if fs %}; they look features up in the online store{% endif %}."""
{%- if fs %}

    # A model logged through Feature Engineering looks its features up in the online store.
    looks_up_features = True
{%- endif %}

    def __init__(self, runtime: DatabricksRuntime) -> None:
        self.runtime = runtime

    @property
    def workspace(self) -> Any:
        return self.runtime.workspace

    def deploy(self, spec: EndpointSpec) -> str:
        """Create the endpoint, or bring it to ``spec`` with only the calls that change something.

        A config update rolls out new serving containers, and "an endpoint that already has an
        update in progress can not be updated until the current update completes or fails"
        (https://docs.databricks.com/aws/en/dev-tools/cli/reference/serving-endpoints-commands,
        ``update-config``): so the existing endpoint's served entities (name, model, version,
        workload size, scale to zero) and routes are compared with the spec first, and an
        unchanged endpoint gets no update at all. Returns created, updated or unchanged.
        """
        from databricks.sdk.errors import NotFound

        endpoints = self.workspace.serving_endpoints
        try:
            endpoints.get(spec.name)
        except NotFound:
            created = endpoints.create_and_wait(
                name=spec.name,
                config=spec.config,
                ai_gateway=spec.ai_gateway,
                tags=spec.tags,
                email_notifications=spec.email_notifications,
                timeout=ENDPOINT_TIMEOUT,
            )
            endpoints.update_permissions(created.id, access_control_list=spec.permissions)
            return "created"
        current = self._settled_endpoint(spec.name)
        changed = False
        if _served(current.config) != _served(spec.config):
            # Fails (OperationFailed) if the new version cannot start; the endpoint then keeps
            # serving the previous one, and the task failure alerts.
            endpoints.update_config_and_wait(
                name=spec.name,
                served_entities=spec.config.served_entities,
                traffic_config=spec.config.traffic_config,
                timeout=ENDPOINT_TIMEOUT,
            )
            changed = True
        wanted = spec.ai_gateway.inference_table_config
        have = current.ai_gateway.inference_table_config if current.ai_gateway else None
        if have is None or have.as_dict() != wanted.as_dict():
            endpoints.put_ai_gateway(name=spec.name, inference_table_config=wanted)
            changed = True
        have_tags = {(tag.key, tag.value) for tag in current.tags or []}
        if not {(tag.key, tag.value) for tag in spec.tags} <= have_tags:
            endpoints.patch(name=spec.name, add_tags=spec.tags)
            changed = True
        have_notes = current.email_notifications.as_dict() if current.email_notifications else {}
        notes = spec.email_notifications
        if notes is not None and have_notes != notes.as_dict():
            endpoints.update_notifications(name=spec.name, email_notifications=notes)
            changed = True
        # update_permissions adds to the ACL; the deployer's own CAN_MANAGE is left as it is.
        if _missing_grants(endpoints.get_permissions(current.id), spec.permissions):
            endpoints.update_permissions(current.id, access_control_list=spec.permissions)
            changed = True
        return "updated" if changed else "unchanged"

    def _settled_endpoint(self, name: str) -> Any:
        """The endpoint once no update is rolling out (a previous promotion may still be).

        Not the SDK's wait_get_serving_endpoint_not_updating: it raises on a failed earlier
        update, which would block the very rollback or promotion that repairs it. After a failed
        update the endpoint still serves its last good config, which is what is compared.
        """
        from databricks.sdk.service.serving import EndpointStateConfigUpdate

        deadline = time.monotonic() + ENDPOINT_TIMEOUT.total_seconds()
        while True:
            endpoint = self.workspace.serving_endpoints.get(name)
            update = endpoint.state.config_update if endpoint.state else None
            if update != EndpointStateConfigUpdate.IN_PROGRESS:
                return endpoint
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} is still updating after {ENDPOINT_TIMEOUT}")
            time.sleep(ENDPOINT_POLL_SECONDS)

    def query(
        self, name: str, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        from databricks.sdk.service.serving import DataframeSplitInput

        response = self.workspace.serving_endpoints.query(
            name,
            client_request_id=request_id,
            dataframe_split=DataframeSplitInput(columns=request["columns"], data=request["data"]),
        )
        return {"predictions": response.predictions}
{%- if fs %}

    def publish_online_features(
        self,
        store: str,
        settings: OnlineStoreSettings,
        tables: dict[str, str],
        refresh: bool = True,
    ) -> dict[str, str]:
        return publish_online_features(self.runtime, store, settings, tables, refresh)
{%- endif %}


# Creating an endpoint{% if fs %} with feature lookups{% endif %} can take a while.
ENDPOINT_TIMEOUT = timedelta(minutes=40)
ENDPOINT_POLL_SECONDS = 15


def _value(value: Any) -> Any:
    """An SDK enum's value, or the value itself (the service may answer either)."""
    return getattr(value, "value", value)


def _served(core_config: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What an endpoint config serves and how traffic is split, comparable between a request
    and the endpoint's state."""
    entities = (core_config.served_entities or []) if core_config else []
    traffic = core_config.traffic_config if core_config else None
    served = sorted(
        (
            e.name,
            e.entity_name,
            str(e.entity_version),
            _value(e.workload_size),
            bool(e.scale_to_zero_enabled),
        )
        for e in entities
    )
    routes = (
        sorted((r.served_entity_name, int(r.traffic_percentage)) for r in (traffic.routes or []))
        if traffic
        else []
    )
    return served, routes


def _missing_grants(current: Any, wanted: list[Any]) -> list[Any]:
    """The requested grants the endpoint's ACL lacks (inherited permissions do not count)."""
    have = {
        (entry.group_name, _value(permission.permission_level))
        for entry in (current.access_control_list or [])
        for permission in (entry.all_permissions or [])
        if not permission.inherited
    }
    return [g for g in wanted if (g.group_name, _value(g.permission_level)) not in have]

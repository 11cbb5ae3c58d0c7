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
        action = "unchanged"
        if _served(current.config) != _served(spec.config):
            # Fails (OperationFailed) if the new version cannot start; the endpoint then keeps
            # serving the previous one, and the task failure alerts.
            endpoints.update_config_and_wait(
                name=spec.name,
                served_entities=spec.config.served_entities,
                traffic_config=spec.config.traffic_config,
                timeout=ENDPOINT_TIMEOUT,
            )
            action = "updated"
        wanted = spec.ai_gateway.inference_table_config
        have = current.ai_gateway.inference_table_config if current.ai_gateway else None
        if have is None or have.as_dict() != wanted.as_dict():
            endpoints.put_ai_gateway(name=spec.name, inference_table_config=wanted)
            action = "updated"
        have_tags = {(tag.key, tag.value) for tag in current.tags or []}
        if not {(tag.key, tag.value) for tag in spec.tags} <= have_tags:
            endpoints.patch(name=spec.name, add_tags=spec.tags)
            action = "updated"
        have_notes = current.email_notifications.as_dict() if current.email_notifications else {}
        notes = spec.email_notifications
        if notes is not None and have_notes != notes.as_dict():
            endpoints.update_notifications(name=spec.name, email_notifications=notes)
            action = "updated"
        # update_permissions adds to the ACL; the deployer's own CAN_MANAGE is left as it is.
        endpoints.update_permissions(current.id, access_control_list=spec.permissions)
        return action

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


def _served(core_config: Any) -> list[tuple[Any, ...]]:
    """What an endpoint config serves, comparable between a request and the endpoint's state."""
    entities = (core_config.served_entities or []) if core_config else []
    return sorted(
        (
            e.name,
            e.entity_name,
            str(e.entity_version),
            e.workload_size,
            bool(e.scale_to_zero_enabled),
        )
        for e in entities
    )

"""The endpoint: its workspace-level names and the spec the serving job sends, as databricks-sdk
request types (the same spec starts the local scoring server)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    EmailNotifications,
    EndpointCoreConfigInput,
    EndpointTag,
    Route,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
    TrafficConfig,
)

from ..config import PROJECT, Names

if TYPE_CHECKING:
    # Only a type here: the names below are also read by ``doctor``, which runs without Spark.
    from .settings import ServingConfig

# Workspace-level names (endpoints, Lakebase instances) are limited to 63 characters.
MAX_WORKSPACE_NAME = 63


def bounded_name(name: str, allowed: str, limit: int = MAX_WORKSPACE_NAME) -> str:
    """``name`` with every character not ``allowed`` replaced by "-", shortened if too long.

    A shortened name ends in a hash of the full one, so two long names stay distinct and the
    same name always maps to the same result.
    """
    name = "".join(c if re.fullmatch(allowed, c) else "-" for c in name)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - len(digest) - 1]}-{digest}"


# Characters allowed in an endpoint or served entity name.
ENDPOINT_CHARACTERS = r"[A-Za-z0-9_-]"
# The AI Gateway names an endpoint's inference table <table_name_prefix>_payload.
PAYLOAD_SUFFIX = "_payload"


def endpoint_name(names: Names) -> str:
    """Endpoints are per workspace, not per catalog, so the name carries catalog and schema:
    targets (and developers) sharing a workspace never clash."""
    return bounded_name(f"{names.catalog}-{names.schema}-{names.model_name}", ENDPOINT_CHARACTERS)


{% if cookiecutter.include_feature_store == "yes" -%}
# Characters allowed in a Lakebase database instance name (at most 63).
ONLINE_STORE_CHARACTERS = r"[a-z0-9-]"


def online_store(target: str) -> str:
    """The online feature store (Lakebase) the project's tables share in a target."""
    return bounded_name(f"{PROJECT}-{target}".lower(), ONLINE_STORE_CHARACTERS)


{% endif -%}
def payload_prefix(names: Names) -> str:
    """Prefix of the endpoint's inference tables, e.g. ``<prefix>_payload``."""
    return f"{names.model_name}_serving"


def payload_table(names: Names) -> str:
    """The endpoint's inference table: one row per request, with its latency."""
    return names.table(f"{payload_prefix(names)}{PAYLOAD_SUFFIX}")


@dataclass(frozen=True)
class EndpointSpec:
    """Everything the serving job sets on the endpoint, as databricks-sdk request types."""

    name: str
    config: EndpointCoreConfigInput
    ai_gateway: AiGatewayConfig
    tags: list[EndpointTag]
    email_notifications: EmailNotifications | None
    permissions: list[ServingEndpointAccessControlRequest]

    @property
    def served_entity(self) -> ServedEntityInput:
        return self.config.served_entities[0]

    def as_dict(self) -> dict[str, Any]:
        """The create request in the shape of a bundle model_serving_endpoints resource."""
        core = self.config.as_dict()
        # The SDK type repeats the endpoint name for update calls; the resource has it once.
        core.pop("name", None)
        body = {
            "name": self.name,
            "config": core,
            "ai_gateway": self.ai_gateway.as_dict(),
            "tags": [tag.as_dict() for tag in self.tags],
        }
        if self.email_notifications is not None:
            body["email_notifications"] = self.email_notifications.as_dict()
        return body


def served_entity_name(names: Names, version: int) -> str:
    """Named after model and version, so the endpoint and its inference table say what served."""
    return bounded_name(f"{names.model_name}-{version}", ENDPOINT_CHARACTERS)


def endpoint_config(
    names: Names, target: str, version: int, cfg: ServingConfig
) -> EndpointCoreConfigInput:
    size = cfg.sizes[target]
    entity = ServedEntityInput(
        name=served_entity_name(names, version),
        entity_name=names.model,
        entity_version=str(version),
        workload_size=size.workload_size,
        scale_to_zero_enabled=size.scale_to_zero,
    )
    return EndpointCoreConfigInput(
        name=endpoint_name(names),
        served_entities=[entity],
        # One served entity takes all the traffic: the champion, nothing else.
        traffic_config=TrafficConfig(
            routes=[Route(served_entity_name=entity.name, traffic_percentage=100)]
        ),
    )


def inference_tables(names: Names) -> AiGatewayConfig:
    """Requests and responses logged to ``<catalog>.<schema>.<model>_serving_payload``."""
    return AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=names.catalog,
            schema_name=names.schema,
            table_name_prefix=payload_prefix(names),
            enabled=True,
        )
    )


def endpoint_permissions(
    target: str, reader_group: str | None, developer_group: str | None
) -> list[ServingEndpointAccessControlRequest]:
    """Readers may query; developers manage the dev endpoint and view the others.

    The deploying identity creates the endpoint and so owns it; its own rights are never changed.
    """
    acl = []
    if reader_group:
        acl.append(
            ServingEndpointAccessControlRequest(
                group_name=reader_group, permission_level=ServingEndpointPermissionLevel.CAN_QUERY
            )
        )
    if developer_group:
        level = (
            ServingEndpointPermissionLevel.CAN_MANAGE
            if target == "dev"
            else ServingEndpointPermissionLevel.CAN_VIEW
        )
        acl.append(
            ServingEndpointAccessControlRequest(group_name=developer_group, permission_level=level)
        )
    return acl


def endpoint_spec(
    names: Names,
    target: str,
    version: int,
    cfg: ServingConfig,
    reader_group: str | None = None,
    developer_group: str | None = None,
    alert_email: str | None = None,
) -> EndpointSpec:
    return EndpointSpec(
        name=endpoint_name(names),
        config=endpoint_config(names, target, version, cfg),
        ai_gateway=inference_tables(names),
        tags=[
            EndpointTag(key="project", value=PROJECT),
            EndpointTag(key="target", value=target),
        ],
        email_notifications=(
            EmailNotifications(on_update_failure=[alert_email]) if alert_email else None
        ),
        permissions=endpoint_permissions(target, reader_group, developer_group),
    )

"""What deploying and checking an endpoint needs from the runtime it runs in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import {% if cookiecutter.include_feature_store == "yes" %}TYPE_CHECKING, {% endif %}Any

from .endpoint import EndpointSpec
{%- if cookiecutter.include_feature_store == "yes" %}

if TYPE_CHECKING:
    from .settings import OnlineStoreSettings
{%- endif %}


class Endpoints(ABC):
    """Serving endpoints of one runtime: a workspace's, or local scoring servers."""
{%- if cookiecutter.include_feature_store == "yes" %}

    # Whether the endpoint looks features up itself (requests then carry only the keys).
    looks_up_features: bool = False
{%- endif %}

    @abstractmethod
    def deploy(self, spec: EndpointSpec) -> str:
        """Create the endpoint, or bring it to ``spec``; return created, updated or unchanged."""

    @abstractmethod
    def query(
        self, name: str, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        """Send one ``dataframe_split`` request; return the response body (``predictions``).

        ``request_id`` is the client request id its inference table row carries.
        """

    def flush_inference_tables(self) -> None:  # noqa: B027 - a workspace needs nothing here
        """Make the requests sent so far visible in the endpoints' inference tables.

        Databricks writes them itself (within minutes); local endpoints buffer them.
        """
{%- if cookiecutter.include_feature_store == "yes" %}

    def publish_online_features(
        self,
        store: str,
        settings: OnlineStoreSettings,
        tables: dict[str, str],
        refresh: bool = True,
    ) -> dict[str, str]:
        """Publish feature tables into an online store, or (``refresh``) re-sync published ones.

        Returns online table -> what was done (published, refreshed, present...). Only where the
        endpoint looks features up itself.
        """
        return {}
{%- endif %}

"""What monitoring needs from the runtime it runs in: the Lakehouse monitor and the audit log."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Monitors(ABC):
    """Lakehouse monitors of one runtime, and whether its audit log can be read."""

    # Whether system.access.audit exists here (a workspace's does; a laptop has none).
    has_audit_log: bool = False

    @abstractmethod
    def ensure(self, spec: dict[str, Any]) -> str:
        """Create or update the monitor of ``spec["table_name"]``; return created or updated."""

    @abstractmethod
    def default_assets_dir(self) -> str | None:
        """Where the monitor's dashboard goes when the job does not say."""

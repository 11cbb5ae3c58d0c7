"""Monitoring on a laptop: no Lakehouse Monitoring and no audit log; the checks themselves are
computed over the local tables (``checks.py``)."""

from __future__ import annotations

from typing import Any

from ..runtime.local import LocalRuntime
from .backend import Monitors


class LocalMonitors(Monitors):
    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        # Monitor specs by table name, kept so callers and tests can read them.
        self.specs: dict[str, dict[str, Any]] = {}

    def ensure(self, spec: dict[str, Any]) -> str:
        verb = "updated" if spec["table_name"] in self.specs else "created"
        self.specs[spec["table_name"]] = spec
        return verb

    def default_assets_dir(self) -> str:
        return str(self.runtime.root / "monitoring")

"""What a command needs: its arguments, names, a runtime, the thresholds, somewhere to report."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from mlflow import MlflowClient

from .config import Names
from .model import MODEL
from .runtime import Runtime, get_runtime
from .settings import Thresholds, load_thresholds


class CommandContext(contextlib.AbstractContextManager["CommandContext"]):
    """Built once per command from the parsed arguments; connects to the runtime on first use and
    holds it (``Runtime.exclusive``) until the command ends: use it in a ``with`` block."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.names = Names.resolve(args.target, args.catalog, args.schema, args.model_name)
        self._runtime: Runtime | None = None
        self._thresholds: Thresholds | None = None
        self._held = contextlib.ExitStack()

    def __exit__(self, *exc_info: object) -> None:
        self._held.close()

    @property
    def runtime(self) -> Runtime:
        """The runtime, with MLflow pointed at its tracking server and registry."""
        if self._runtime is None:
            runtime = get_runtime(self.args.runtime)
            # Before anything reads or writes the runtime's state.
            self._held.enter_context(runtime.exclusive(getattr(self.args, "command", "a command")))
            runtime.configure_mlflow()
            self._runtime = runtime
        return self._runtime

    def client(self) -> MlflowClient:
        """A client for the runtime's model registry; needs no Spark session."""
        _ = self.runtime
        return MlflowClient()

    @property
    def thresholds(self) -> Thresholds:
        if self._thresholds is None:
            self._thresholds = load_thresholds(MODEL, self.args.thresholds)
        return self._thresholds

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)


@dataclass(frozen=True)
class Command:
    """A subcommand: what it does, its help line, the arguments of its own, and the job task
    values it sets (such a command runs in a job as a notebook task, never as a wheel task)."""

    run: Callable[[CommandContext], dict[str, Any]]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    task_values: tuple[str, ...] = ()

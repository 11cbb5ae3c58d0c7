"""Local endpoints: MLflow's scoring server per endpoint, the stand-in for a workspace's."""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

import mlflow
import mlflow.artifacts
from mlflow.pyfunc import scoring_server
from pyspark.sql.types import (
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ..runtime.local import LocalRuntime
from .backend import Endpoints
from .endpoint import PAYLOAD_SUFFIX, EndpointSpec


@dataclass
class LocalEndpoint:
    """MLflow's scoring server for one model version: the local stand-in for a serving endpoint.

    It takes the same ``dataframe_split`` requests and answers ``{"predictions": [...]}``; each
    request is logged like an inference table row until ``flush_inference_tables``.
    """

    spec: dict[str, Any]
    served_entity: str
    payload_table: str
    url: str
    process: subprocess.Popen
    log_file: Path
    requests: list[dict[str, Any]] = field(default_factory=list)

    def wait_until_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    tail = self.log_file.read_text()[-2000:]
                    raise RuntimeError(f"the local scoring server exited:\n{tail}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from the scoring server at {self.url}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server and everything it started: ``mlflow models serve`` runs uvicorn as a
        child, in the server's own process group, so the whole group goes."""
        if self.process.poll() is None:
            if os.name == "posix":
                _signal_group(self.process.pid, signal.SIGTERM)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.name == "posix":
            # The leader may go before its uvicorn child: wait for the group, then kill what stays.
            deadline = time.monotonic() + STOP_SECONDS
            while _signal_group(self.process.pid, 0) and time.monotonic() < deadline:
                time.sleep(0.1)
            _signal_group(self.process.pid, signal.SIGKILL)


# How long a stopping server may take before it is killed.
STOP_SECONDS = 20


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False once the group is empty."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id was reused by another user's processes: not ours
        return False
    return True


# Like endpoints in a workspace, local endpoints outlive the command that deployed them, for as
# long as this Python process runs, and no longer: stopped at exit, on a signal that ends the
# process, and (Linux) when it dies any other way.
_LOCAL_ENDPOINTS: dict[str, LocalEndpoint] = {}


@atexit.register
def stop_local_endpoints() -> None:
    # One at a time off the registry: a signal may stop the rest while this loop runs.
    while _LOCAL_ENDPOINTS:
        _, endpoint = _LOCAL_ENDPOINTS.popitem()
        endpoint.stop()


# atexit does not run when a signal ends the process: stop the endpoints, then let the signal
# do what it did before (die of it, or KeyboardInterrupt for SIGINT).
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
_PREVIOUS_HANDLERS: dict[int, Any] = {}


def _stop_then_resignal(signum: int, frame: FrameType | None) -> None:
    stop_local_endpoints()
    previous = _PREVIOUS_HANDLERS.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _stop_endpoints_on_signals() -> None:
    """Install the handlers once; only the main thread may (a library caller's thread skips)."""
    if _PREVIOUS_HANDLERS or threading.current_thread() is not threading.main_thread():
        return
    for signum in _STOP_SIGNALS:
        previous = signal.getsignal(signum)
        if previous is signal.SIG_IGN or previous is None:
            continue  # ignored (e.g. SIGHUP under nohup) or set outside Python: leave it
        _PREVIOUS_HANDLERS[signum] = previous
        signal.signal(signum, _stop_then_resignal)


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` asking the kernel to send the server SIGTERM when the thread that
    started it dies, even by SIGKILL, which no handler sees (MLflow does the same for uvicorn, so
    the chain ends). Elsewhere None: the handlers above must do."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent, death_signal = os.getpid(), int(signal.SIGTERM)

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, death_signal)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)

    return set_parent_death_signal


PR_SET_PDEATHSIG = 1  # linux/prctl.h


PAYLOAD_SCHEMA = StructType(
    [
        StructField("request_date", DateType()),
        StructField("databricks_request_id", StringType()),
        StructField("request_time", TimestampType()),
        StructField("status_code", IntegerType()),
        StructField("execution_duration_ms", LongType()),
        StructField("request", StringType()),
        StructField("response", StringType()),
        StructField("served_entity_id", StringType()),
    ]
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _scoring_server(model_uri: str, model_dir: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment of MLflow's scoring server (uvicorn) for ``model_uri``.

    What ``mlflow models serve --env-manager local`` runs, without its own interpreter in front:
    the model is copied from the registry here (this process has MLflow loaded already) and
    uvicorn is started directly, one Python process instead of two.
    """
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    local_path = mlflow.artifacts.download_artifacts(
        artifact_uri=model_uri, dst_path=str(model_dir)
    )
    command, environment = scoring_server.get_cmd(
        local_path, port=port, host="127.0.0.1", nworkers=1
    )
    arguments = shlex.split(command)
    if arguments[0] == "uvicorn":  # by name: run it with this interpreter, whatever PATH says
        arguments = [sys.executable, "-m", "uvicorn", *arguments[1:]]
    return arguments, environment


class LocalEndpoints(Endpoints):
    """Scoring servers started from the local registry; each request is kept like an inference
    table row until ``flush_inference_tables`` writes them to the local payload table."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def deployed_spec(self, name: str) -> Path:
        """Where the spec last deployed to the endpoint ``name`` is kept: like a workspace
        endpoint's config, it outlives the process whose scoring server served it."""
        return self.runtime.root / "serving" / f"{name}.json"

    def deploy(self, spec: EndpointSpec) -> str:
        """Serve ``spec``: created the first time, updated when it differs from the spec last
        deployed, unchanged otherwise; a server is (re)started in this process as needed."""
        wanted = spec.as_dict()
        record = self.deployed_spec(spec.name)
        deployed = json.loads(record.read_text()) if record.exists() else None
        action = "created" if deployed is None else "unchanged" if deployed == wanted else "updated"
        current = _LOCAL_ENDPOINTS.get(spec.name)
        if current and current.spec == wanted and current.process.poll() is None:
            self._record(record, wanted)
            return action
        if current:
            current.stop()
        entity = spec.served_entity
        gateway = spec.ai_gateway.inference_table_config
        serving_dir = self.runtime.root / "serving"
        log_file = serving_dir / f"{spec.name}.log"
        port = _free_port()
        command, environment = _scoring_server(
            f"models:/{entity.entity_name}/{entity.entity_version}", serving_dir / spec.name, port
        )
        _stop_endpoints_on_signals()
        with log_file.open("w") as log:
            process = subprocess.Popen(
                command,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a terminal's Ctrl-C reaches this process, which stops the
                # server's whole group in order, rather than the server mid-request.
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        _LOCAL_ENDPOINTS[spec.name] = LocalEndpoint(
            spec=wanted,
            served_entity=entity.name,
            payload_table=(
                f"{gateway.catalog_name}.{gateway.schema_name}.{gateway.table_name_prefix}"
                f"{PAYLOAD_SUFFIX}"
            ),
            url=f"http://127.0.0.1:{port}",
            process=process,
            log_file=log_file,
        )
        self._record(record, wanted)
        return action

    @staticmethod
    def _record(path: Path, spec: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")

    def query(
        self, name: str, request: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        endpoint = _LOCAL_ENDPOINTS.get(name)
        if endpoint is None:
            raise RuntimeError(
                f"no local endpoint {name}: locally an endpoint lives in the Python process "
                "that deployed it (local-run deploys, then smoke-checks)"
            )
        endpoint.wait_until_ready()
        body = json.dumps({"dataframe_split": request})
        started = datetime.now(timezone.utc)
        clock = time.perf_counter()
        call = urllib.request.Request(
            f"{endpoint.url}/invocations",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(call, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        endpoint.requests.append(
            {
                "request_date": started.date(),
                "databricks_request_id": str(uuid.uuid4()),
                "request_time": started,
                "status_code": status,
                "execution_duration_ms": round((time.perf_counter() - clock) * 1000),
                "request": body,
                "response": text,
                "served_entity_id": endpoint.served_entity,
            }
        )
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {text[:500]}")
        return json.loads(text)

    def flush_inference_tables(self) -> None:
        for endpoint in _LOCAL_ENDPOINTS.values():
            if endpoint.requests:
                rows = self.runtime.spark.createDataFrame(endpoint.requests, PAYLOAD_SCHEMA)
                self.runtime.write_table(endpoint.payload_table, rows, mode="append")
                endpoint.requests.clear()

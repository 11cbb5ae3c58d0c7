"""Local endpoints: MLflow's scoring server per endpoint, the stand-in for a workspace's."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import mlflow
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
        if self.process.poll() is None:
            # The server runs uvicorn in a child process: stop the whole process group.
            if os.name == "posix":
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


# Like endpoints in a workspace, local endpoints outlive the command that deployed them, for as
# long as this Python process runs.
_LOCAL_ENDPOINTS: dict[str, LocalEndpoint] = {}


@atexit.register
def stop_local_endpoints() -> None:
    for endpoint in _LOCAL_ENDPOINTS.values():
        endpoint.stop()
    _LOCAL_ENDPOINTS.clear()


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


class LocalEndpoints(Endpoints):
    """Scoring servers started from the local registry; each request is kept like an inference
    table row until ``flush_inference_tables`` writes them to the local payload table."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def deploy(self, spec: EndpointSpec) -> str:
        wanted = spec.as_dict()
        current = _LOCAL_ENDPOINTS.get(spec.name)
        if current and current.spec == wanted and current.process.poll() is None:
            return "unchanged"
        if current:
            current.stop()
        entity = spec.served_entity
        gateway = spec.ai_gateway.inference_table_config
        tracking = mlflow.get_tracking_uri()
        log_file = self.runtime.root / "serving" / f"{spec.name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        environment = {
            **os.environ,
            "MLFLOW_TRACKING_URI": tracking,
            "MLFLOW_REGISTRY_URI": tracking,
            # The server starts `uvicorn` by name: find it beside this interpreter.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with log_file.open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mlflow",
                    "models",
                    "serve",
                    "--model-uri",
                    f"models:/{entity.entity_name}/{entity.entity_version}",
                    "--env-manager",
                    "local",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                ],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
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
        return "updated" if current else "created"

    def query(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
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

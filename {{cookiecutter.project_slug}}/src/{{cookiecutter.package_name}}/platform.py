"""The seam between the lifecycle code and where it runs.

This is the only module that knows whether it runs on Databricks or on a laptop.
Every stage talks to a ``Platform``; ``LocalPlatform`` keeps tables as parquet and
MLflow state in SQLite under ``.local/``, ``DatabricksPlatform`` uses Unity Catalog,
Feature Engineering in Unity Catalog and the ``databricks-uc`` registry.
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.models import ModelSignature, get_model_info
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from . import config

if TYPE_CHECKING:  # only the serving option builds endpoint specs
    from .serving import EndpointSpec

# Types inside a Pipeline(SimpleImputer, RandomForest*) that skops must be told are safe.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]
MODEL_ARTIFACT = "model"


@dataclass(frozen=True)
class Lookup:
    """A feature table joined onto the label rows by one key column."""

    table: str
    key: str


@dataclass(frozen=True)
class TrainingData:
    """A training set as a DataFrame plus the platform's own handle for lineage."""

    df: DataFrame
    handle: Any = None


class Platform(ABC):
    """What the lifecycle stages need from the environment they run in."""

    name: str
    feature_store: bool

    @property
    @abstractmethod
    def spark(self) -> SparkSession: ...

    @abstractmethod
    def read_table(self, name: str) -> DataFrame: ...

    @abstractmethod
    def table_schema(self, name: str) -> StructType | None:
        """The schema of an existing table, or None if it does not exist yet."""

    @abstractmethod
    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        """Write a plain table; ``mode`` is "overwrite" or "append"."""

    @abstractmethod
    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        """Create the feature table, or upsert ``df`` into it by primary key."""

    @abstractmethod
    def configure_mlflow(self, experiment: str) -> None: ...

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
        """Left-join every lookup table onto the label rows by its key."""
        return TrainingData(join_features(self, labels, lookups).drop(*exclude))

    def log_model(
        self,
        model: Any,
        training: TrainingData,
        registered_model_name: str,
        signature: ModelSignature,
        input_example: Any,
    ) -> str:
        """Log and register a fitted scikit-learn model inside the active run."""
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT,
            signature=signature,
            input_example=input_example,
            registered_model_name=registered_model_name,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        return str(info.registered_model_version)

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        """Return ``df`` with the looked-up features and a ``prediction`` column."""
        features = join_features(self, df, lookups)
        inputs = get_model_info(model_uri).signature.inputs.input_names()
        predict = mlflow.pyfunc.spark_udf(
            self.spark, model_uri, result_type=result_type, env_manager="local"
        )
        return features.withColumn("prediction", predict(F.struct(*inputs)))

    @abstractmethod
    def set_task_value(self, key: str, value: Any) -> None:
        """Hand a value to the later tasks of the same job run."""

    @abstractmethod
    def ensure_quality_monitor(self, spec: dict[str, Any]) -> str:
        """Create or update the Lakehouse monitor of ``spec["table_name"]``; say which."""

    @property
    def serves_feature_lookups(self) -> bool:
        """Whether a serving endpoint looks features up itself (requests then carry only keys)."""
        return False

    @abstractmethod
    def deploy_endpoint(self, spec: EndpointSpec) -> str:
        """Create the endpoint, or bring it to ``spec``; return created, updated or unchanged."""

    @abstractmethod
    def query_endpoint(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send one ``dataframe_split`` request; return the response body (``predictions``)."""

    def flush_inference_tables(self) -> None:  # noqa: B027 - most platforms need nothing here
        """Make the requests sent so far visible in the endpoints' inference tables.

        Databricks writes them itself (within minutes); the local platform buffers them.
        """

    def publish_online_features(
        self, store: str, capacity: str, tables: dict[str, str], refresh: bool = True
    ) -> dict[str, str]:
        """Publish feature tables into an online store, or (``refresh``) re-sync published ones.

        Returns online table -> published, refreshed or present.
        """
        raise NotImplementedError(f"the {self.name} platform has no online feature store")


def join_features(platform: Platform, df: DataFrame, lookups: Sequence[Lookup]) -> DataFrame:
    for lookup in lookups:
        df = df.join(platform.read_table(lookup.table), on=lookup.key, how="left")
    return df


def local_spark() -> SparkSession:
    """A small local Spark session whose Python workers use this interpreter."""
    # Otherwise workers start the system python3, which lacks this venv's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(config.MODEL_NAME)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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


class LocalPlatform(Platform):
    """Parquet tables and a SQLite MLflow store under ``root`` (default ``.local``)."""

    name = "local"

    def __init__(
        self,
        root: str | Path = ".local",
        spark: SparkSession | None = None,
        feature_store: bool | None = None,
    ) -> None:
        # Absolute, because the JVM resolves relative paths against its own start directory.
        self.root = Path(root).resolve()
        self._spark = spark
        # There is no job run locally; values are kept so callers and tests can read them.
        self.task_values: dict[str, Any] = {}
        # Monitor specs by table name (there is no Lakehouse Monitoring locally).
        self.monitors: dict[str, dict[str, Any]] = {}
        # Locally both settings behave alike: feature tables are merged parquet either way.
        self.feature_store = config.FEATURE_STORE if feature_store is None else feature_store

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = local_spark()
        return self._spark

    def _path(self, name: str) -> Path:
        catalog, schema, table = name.split(".")
        return self.root / "tables" / catalog / schema / table

    def read_table(self, name: str) -> DataFrame:
        return self.spark.read.parquet(str(self._path(name)))

    def table_schema(self, name: str) -> StructType | None:
        return self.read_table(name).schema if self._path(name).exists() else None

    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        df.write.mode(mode).parquet(str(self._path(name)))

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        path = self._path(name)
        if not path.exists():
            self.write_table(name, df)
            return
        keys = list(primary_keys)
        kept = self.read_table(name).join(df.select(*keys), on=keys, how="left_anti")
        # Spark cannot overwrite a path it is reading, so write beside it and swap.
        staging = path.with_name(path.name + ".merging")
        kept.unionByName(df).write.mode("overwrite").parquet(str(staging))
        shutil.rmtree(path)
        staging.rename(path)

    def set_task_value(self, key: str, value: Any) -> None:
        self.task_values[key] = value

    def ensure_quality_monitor(self, spec: dict[str, Any]) -> str:
        # No Lakehouse Monitoring locally: keep the spec so callers and tests can read it; the
        # checks themselves are computed over the local tables (monitoring.py).
        verb = "updated" if spec["table_name"] in self.monitors else "created"
        self.monitors[spec["table_name"]] = spec
        return verb

    def deploy_endpoint(self, spec: EndpointSpec) -> str:
        wanted = spec.as_dict()
        current = _LOCAL_ENDPOINTS.get(spec.name)
        if current and current.spec == wanted and current.process.poll() is None:
            return "unchanged"
        if current:
            current.stop()
        entity = spec.served_entity
        gateway = spec.ai_gateway.inference_table_config
        tracking = mlflow.get_tracking_uri()
        log_file = self.root / "serving" / f"{spec.name}.log"
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
                f"{config.PAYLOAD_SUFFIX}"
            ),
            url=f"http://127.0.0.1:{port}",
            process=process,
            log_file=log_file,
        )
        return "updated" if current else "created"

    def query_endpoint(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
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
                rows = self.spark.createDataFrame(endpoint.requests, PAYLOAD_SCHEMA)
                self.write_table(endpoint.payload_table, rows, mode="append")
                endpoint.requests.clear()

    def configure_mlflow(self, experiment: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{self.root.as_posix()}/mlflow.db"  # four slashes: absolute path
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            artifacts = (self.root / "mlruns").as_uri()
            mlflow.create_experiment(experiment, artifact_location=artifacts)
        mlflow.set_experiment(experiment)


class DatabricksPlatform(Platform):
    """Unity Catalog tables, Feature Engineering client and the UC model registry."""

    name = "databricks"

    def __init__(self, feature_store: bool | None = None, workspace: Any = None) -> None:
        self.feature_store = config.FEATURE_STORE if feature_store is None else feature_store
        self._fe: Any = None
        self._workspace = workspace

    @property
    def workspace(self) -> Any:
        """A databricks-sdk WorkspaceClient, made once: it resolves credentials when built."""
        if self._workspace is None:
            from databricks.sdk import WorkspaceClient

            self._workspace = WorkspaceClient()
        return self._workspace

    @property
    def serves_feature_lookups(self) -> bool:
        # A model logged through Feature Engineering looks its features up in the online store.
        return self.feature_store

    @property
    def spark(self) -> SparkSession:
        session = SparkSession.getActiveSession()
        if session is None:
            raise RuntimeError("No active Spark session: run this on a Databricks cluster")
        return session

    @property
    def fe(self) -> Any:
        # Constructed lazily: the client needs workspace credentials.
        if self._fe is None:
            from databricks.feature_engineering import FeatureEngineeringClient

            self._fe = FeatureEngineeringClient()
        return self._fe

    def read_table(self, name: str) -> DataFrame:
        return self.spark.table(name)

    def table_schema(self, name: str) -> StructType | None:
        return self.spark.table(name).schema if self.spark.catalog.tableExists(name) else None

    def write_table(self, name: str, df: DataFrame, mode: str = "overwrite") -> None:
        df.write.mode(mode).saveAsTable(name)

    def write_feature_table(
        self, name: str, df: DataFrame, primary_keys: Sequence[str], description: str
    ) -> None:
        exists = self.spark.catalog.tableExists(name)
        if self.feature_store:
            if exists:
                self.fe.write_table(name=name, df=df, mode="merge")
            else:
                self.fe.create_table(
                    name=name, primary_keys=list(primary_keys), df=df, description=description
                )
            return
        if not exists:
            df.write.saveAsTable(name)
            comment = description.replace("'", "\\'")
            self.spark.sql(f"COMMENT ON TABLE {name} IS '{comment}'")
            return
        view = f"_{name.replace('.', '_')}_updates"
        df.createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{key}` = s.`{key}`" for key in primary_keys)
        self.spark.sql(
            f"MERGE INTO {name} AS t USING {view} AS s ON {on} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )

    def configure_mlflow(self, experiment: str) -> None:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        mlflow.set_experiment(experiment)

    def create_training_set(
        self, labels: DataFrame, lookups: Sequence[Lookup], label: str, exclude: Sequence[str]
    ) -> TrainingData:
        if not self.feature_store:
            return super().create_training_set(labels, lookups, label, exclude)
        from databricks.feature_engineering import FeatureLookup

        training_set = self.fe.create_training_set(
            df=labels,
            feature_lookups=[
                FeatureLookup(table_name=lk.table, lookup_key=lk.key) for lk in lookups
            ],
            label=label,
            exclude_columns=list(exclude),
        )
        return TrainingData(training_set.load_df(), training_set)

    def log_model(
        self,
        model: Any,
        training: TrainingData,
        registered_model_name: str,
        signature: ModelSignature,
        input_example: Any,
    ) -> str:
        if not self.feature_store:
            return super().log_model(
                model, training, registered_model_name, signature, input_example
            )
        # Newer clients take MLflow 3's ``name=``; older ones only ``artifact_path=``.
        accepted = inspect.signature(self.fe.log_model).parameters
        location = "name" if "name" in accepted else "artifact_path"
        self.fe.log_model(
            model=model,
            flavor=mlflow.sklearn,
            training_set=training.handle,
            registered_model_name=registered_model_name,
            infer_input_example=True,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            **{location: MODEL_ARTIFACT},
        )
        return _version_logged_by_active_run(registered_model_name)

    def score(
        self, model_uri: str, df: DataFrame, lookups: Sequence[Lookup], result_type: str
    ) -> DataFrame:
        if not self.feature_store:
            return super().score(model_uri, df, lookups, result_type)
        # The packaged model carries its feature lookups; score_batch performs them.
        return self.fe.score_batch(model_uri=model_uri, df=df, result_type=result_type)

    def set_task_value(self, key: str, value: Any) -> None:
        from databricks.sdk.runtime import dbutils

        dbutils.jobs.taskValues.set(key=key, value=value)

    def deploy_endpoint(self, spec: EndpointSpec) -> str:
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

    def query_endpoint(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        from databricks.sdk.service.serving import DataframeSplitInput

        response = self.workspace.serving_endpoints.query(
            name,
            dataframe_split=DataframeSplitInput(columns=request["columns"], data=request["data"]),
        )
        return {"predictions": response.predictions}

    def publish_online_features(
        self, store: str, capacity: str, tables: dict[str, str], refresh: bool = True
    ) -> dict[str, str]:
        from databricks.sdk.errors import NotFound

        online = self.fe.get_online_store(name=store) or self.fe.create_online_store(
            name=store, capacity=capacity
        )
        deadline = time.monotonic() + ENDPOINT_TIMEOUT.total_seconds()
        while getattr(online.state, "value", online.state) != "AVAILABLE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"online store {store} is still {online.state}")
            time.sleep(ONLINE_STORE_POLL_SECONDS)
            online = self.fe.get_online_store(name=store)
        actions = {}
        for source, target in tables.items():
            # Triggered publishing follows the source table's change data feed.
            self.spark.sql(
                f"ALTER TABLE {source} SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"
            )
            try:
                synced = self.workspace.database.get_synced_database_table(target)
            except NotFound:
                self.fe.publish_table(
                    online_store=online, source_table_name=source, online_table_name=target
                )
                actions[target] = "published"
                continue
            if not refresh:
                actions[target] = "present"
                continue
            # Already published: run its sync pipeline once to carry the latest merge over.
            self.workspace.pipelines.start_update(synced.data_synchronization_status.pipeline_id)
            actions[target] = "refreshed"
        return actions

    def ensure_quality_monitor(self, spec: dict[str, Any], client: Any = None) -> str:
        # Created here, not by the bundle: a monitor needs its table, which the first batch
        # inference run creates (see README, "Monitoring").
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.catalog import (
            MonitorCronSchedule,
            MonitorInferenceLog,
            MonitorNotifications,
        )

        monitors = (client or self.workspace).quality_monitors
        settings = {
            "output_schema_name": spec["output_schema_name"],
            "baseline_table_name": spec["baseline_table_name"],
            "inference_log": MonitorInferenceLog.from_dict(spec["inference_log"]),
            "schedule": MonitorCronSchedule.from_dict(spec["schedule"]),
            "notifications": MonitorNotifications.from_dict(spec["notifications"]),
        }
        try:
            monitors.get(table_name=spec["table_name"])
        except NotFound:
            monitors.create(
                table_name=spec["table_name"], assets_dir=spec["assets_dir"], **settings
            )
            return "created"
        monitors.update(table_name=spec["table_name"], **settings)
        return "updated"


# Creating an endpoint with feature lookups, or an online store, can take a while.
ENDPOINT_TIMEOUT = timedelta(minutes=40)
ONLINE_STORE_POLL_SECONDS = 30
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


def _version_logged_by_active_run(model_name: str) -> str:
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_model must be called inside an MLflow run")
    versions = mlflow.MlflowClient().search_model_versions(f"name = '{model_name}'")
    mine = [int(v.version) for v in versions if v.run_id == run.info.run_id]
    if not mine:
        raise RuntimeError(f"Run {run.info.run_id} registered no version of {model_name}")
    return str(max(mine))


def get_platform(kind: str = "auto", feature_store: bool | None = None) -> Platform:
    """``auto`` picks Databricks when running on a Databricks runtime, else local."""
    if kind == "auto":
        kind = "databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "local"
    if kind == "databricks":
        return DatabricksPlatform(feature_store)
    if kind == "local":
        return LocalPlatform(feature_store=feature_store)
    raise ValueError(f"Unknown platform {kind!r}; expected auto, local or databricks")

"""The local Spark session, which ``local-run`` starts before it imports anything else.

Only PySpark is imported here (a tenth of a second), so ``__main__`` can start the JVM in a
background thread and import MLflow, scikit-learn and the stages (seconds) while it boots.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from ..config import PROJECT
from ..errors import Refusal

# The session start_local_spark() is building, until local_spark() takes it.
_STARTING: Future[SparkSession] | None = None


class LocalSparkError(Refusal):
    """Local Spark cannot start on this machine."""


def local_spark() -> SparkSession:
    """A small local Spark session whose Python workers use this interpreter: the one
    ``start_local_spark`` began, once it is up (or its failure), else a new one."""
    global _STARTING
    if _STARTING is not None:
        starting, _STARTING = _STARTING, None
        return starting.result()
    return _build_session()


def start_local_spark() -> None:
    """Start building the local session in a background thread and return at once; the next
    ``local_spark()`` waits for it, so nothing starts Spark twice and a failure is reported once,
    by the caller, like any other."""
    global _STARTING
    if _STARTING is not None:
        return
    starting: Future[SparkSession] = Future()

    def build() -> None:
        try:
            starting.set_result(_build_session())
        except BaseException as error:  # handed to the caller of local_spark()
            starting.set_exception(error)

    _STARTING = starting
    threading.Thread(target=build, name="start-local-spark", daemon=True).start()


# A local run lives for seconds to minutes on tiny tables, so the JVM's start-up and warm-up are
# most of Spark's cost: the quick (C1) compiler alone starts Spark and compiles its first queries
# sooner than the optimising one would, and the single-threaded collector suits a 512 MB heap.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def _build_session() -> SparkSession:
    """Sized for the sample (thousands of rows), where start-up costs dominate: one partition per
    table and per shuffle, so a model scored with ``spark_udf`` loads in one Python worker, not one
    per core (each imports MLflow and the model: seconds and some 200 MB apiece); a 512 MB driver
    heap instead of the default 1 GB; a JVM tuned for short runs (``JVM_OPTIONS``)."""
    # Otherwise workers start the system python3, which lacks this venv's packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(PROJECT)
        .config("spark.driver.memory", "512m")
        .config("spark.driver.extraJavaOptions", JVM_OPTIONS)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as error:
        if error.getCondition() != "JAVA_GATEWAY_EXITED":
            raise
        # Spark printed why above (java not found, say); this line says what to do.
        raise LocalSparkError(
            "local Spark did not start (its Java process exited); "
            f"`python -m {__package__.split('.')[0]} doctor --target local` checks Java 17"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark

"""The SparkSession builder: Delta and the Kafka connector from the project's jar cache, local or
on a cluster, with every lakehouse table registered by name."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from stockstream.config import Settings
from stockstream.jars import spark_extra_jars
from stockstream.tables import register

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

SPARK_LOG4J2 = Path(__file__).parent / "conf" / "spark-log4j2.properties"


QUICK_JIT = "-XX:TieredStopAtLevel=1"
"""The JVM option of short-lived drivers: compile with C1 only. A CLI step (finalize, sql,
maintain; extract and replay only when they create their tables) runs mostly cold code for
seconds, where C2's compilations cost more than they return: in the day benchmark (BENCHMARKS.md)
finalize went from 38.2 to 29.4 s, the whole day from 98.0 to 82.9 s. The stream keeps the full
JIT."""


def spark_conf(settings: Settings, app_name: str, *, long_running: bool = False) -> dict[str, str]:
    """The Spark configuration of a stockstream session; settings.spark_conf wins over all of it.
    A `long_running` driver (the stream, a benchmark's engine) keeps the JVM's full JIT."""
    java_options = [f"-Dlog4j2.configurationFile={SPARK_LOG4J2}"]
    if settings.spark_quick_jit and not long_running:
        java_options.append(QUICK_JIT)
    conf = {
        "spark.app.name": app_name,
        "spark.master": settings.spark_master,
        "spark.jars": ",".join(str(jar) for jar in spark_extra_jars(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(settings.warehouse_dir),
        "spark.local.dir": str(settings.data_root / "spark-tmp"),
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.host": settings.host,
        "spark.driver.bindAddress": settings.host,
        "spark.ui.enabled": str(settings.spark_ui).lower(),
        "spark.sql.session.timeZone": "UTC",
        # Spark's Python workers must run this install's interpreter, not the first python3 on PATH.
        "spark.pyspark.python": settings.python,
        "spark.pyspark.driver.python": settings.python,
        "spark.sql.streaming.stateStore.providerClass": (
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
        ),
        "spark.databricks.delta.optimizeWrite.enabled": "false",
        # Delta rebuilds a table's state with 50 tasks by default: on a small machine and small
        # logs that costs seconds per table, a few tasks do the same work.
        "spark.databricks.delta.snapshotPartitions": str(settings.spark_shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": " ".join(java_options),
    }
    conf.update(settings.spark_conf)
    return conf


def spark_session(
    settings: Settings,
    app_name: str = "stockstream",
    create_tables: tuple[str, ...] = (),
    *,
    long_running: bool = False,
) -> SparkSession:
    """The process's one SparkSession (created on first call), with the lakehouse registered;
    `long_running` for a driver that works for minutes or more (spark_conf)."""
    from pyspark.sql import SparkSession

    settings.data_root.mkdir(parents=True, exist_ok=True)
    # The JVM picks its own address at start-up; keep it on the configured host.
    os.environ.setdefault("SPARK_LOCAL_IP", settings.host)
    # pyspark sends UDFs with the interpreter named by PYSPARK_PYTHON ("python3" when unset),
    # whatever spark.pyspark.python says: point it at this install so workers find pandas.
    os.environ["PYSPARK_PYTHON"] = settings.python
    builder = SparkSession.builder
    for key, value in spark_conf(settings, app_name, long_running=long_running).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    register(spark, settings, create=create_tables)
    return spark

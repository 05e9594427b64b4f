"""SparkSession with Delta: tables written, read back, merged and time-travelled for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from stockstream.config import Settings
from stockstream.spark import spark_conf

pytestmark = pytest.mark.integration


def test_delta_table_round_trip_merge_and_time_travel(spark: SparkSession, tmp_path: Path) -> None:
    location = tmp_path / "scratch_prices"
    spark.sql("CREATE SCHEMA IF NOT EXISTS scratch")
    spark.sql(
        "CREATE TABLE scratch.prices (ticker STRING NOT NULL, close DOUBLE) "
        f"USING delta LOCATION '{location}'"
    )
    spark.createDataFrame([("AAPL", 228.5), ("SAP", 235.0)], "ticker STRING, close DOUBLE").write.format(
        "delta"
    ).mode("append").saveAsTable("scratch.prices")
    spark.createDataFrame(
        [("SAP", 236.25), ("BHP.AX", 41.0)], "ticker STRING, close DOUBLE"
    ).createOrReplaceTempView("updates")
    spark.sql(
        """MERGE INTO scratch.prices t USING updates u ON t.ticker = u.ticker
           WHEN MATCHED THEN UPDATE SET close = u.close WHEN NOT MATCHED THEN INSERT *"""
    )

    assertDataFrameEqual(
        spark.table("scratch.prices"),
        [("AAPL", 228.5), ("SAP", 236.25), ("BHP.AX", 41.0)],
        checkRowOrder=False,
    )
    assertDataFrameEqual(
        spark.read.format("delta").option("versionAsOf", 1).load(str(location)),
        [("AAPL", 228.5), ("SAP", 235.0)],
        checkRowOrder=False,
    )
    assert (location / "_delta_log").is_dir()
    operations = [
        r.operation for r in spark.sql("DESCRIBE HISTORY scratch.prices").orderBy("version").collect()
    ]
    assert operations == ["CREATE TABLE", "WRITE", "MERGE"]


def test_session_runs_with_the_configured_master_jars_and_interpreter(
    spark: SparkSession, settings: Settings
) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.master") == "local[2]"
    assert conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert "delta-spark_4.2_2.13-4.4.0.jar" in (conf.get("spark.jars") or "")
    assert conf.get("spark.pyspark.python") == settings.python
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.version == "4.2.0"


def test_settings_spark_conf_wins_over_defaults(settings: Settings) -> None:
    custom = settings.model_copy(update={"spark_conf": {"spark.sql.shuffle.partitions": "7", "x.y": "z"}})
    conf = spark_conf(custom, "t")
    assert conf["spark.sql.shuffle.partitions"] == "7" and conf["x.y"] == "z"


def test_short_lived_drivers_compile_with_c1_and_the_stream_with_the_full_jit(settings: Settings) -> None:
    step = spark_conf(settings, "t")["spark.driver.extraJavaOptions"].split()
    stream = spark_conf(settings, "t", long_running=True)["spark.driver.extraJavaOptions"].split()
    assert "-XX:TieredStopAtLevel=1" in step and "-XX:TieredStopAtLevel=1" not in stream
    # Both keep the project's log4j2 configuration.
    assert (
        [o for o in step if o.startswith("-Dlog4j2")] == [o for o in stream if o.startswith("-Dlog4j2")] != []
    )
    off = spark_conf(settings.model_copy(update={"spark_quick_jit": False}), "t")
    assert "-XX:TieredStopAtLevel=1" not in off["spark.driver.extraJavaOptions"]

"""Kafka records -> bronze rows: everything as received, nothing parsed."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def to_bronze(records: DataFrame) -> DataFrame:
    """One row per Kafka record (the Kafka source's columns), with its coordinates and the time the
    micro-batch started; works on batch and streaming frames alike."""
    ingest_time = F.current_timestamp()
    return records.select(
        F.col("key").cast("string").alias("key"),
        F.col("value"),
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        ingest_time.alias("ingest_time"),
        F.to_date(ingest_time).alias("ingest_date"),
    )

"""The streaming job's wiring: Kafka -> bronze.transactions (Delta sink, its own checkpoint).

Later stages (silver, quarantine, gold) add their own queries here, each with its own checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stockstream.config import Settings
from stockstream.pipeline.bronze import to_bronze
from stockstream.spark import spark_session
from stockstream.tables import BRONZE_TRANSACTIONS, table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSummary:
    """What one run of the job processed."""

    batches: int
    input_rows: int


def kafka_source(spark: SparkSession, settings: Settings) -> DataFrame:
    """The transactions topic from the earliest offset; data loss (retention overtaking the
    stream) fails the query loudly instead of skipping records."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
    )
    if settings.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
    return reader.load()


def start_bronze(spark: SparkSession, settings: Settings, available_now: bool) -> StreamingQuery:
    """Kafka -> bronze.transactions: exactly once through the Delta sink and its checkpoint."""
    bronze = table(BRONZE_TRANSACTIONS)
    writer = (
        to_bronze(kafka_source(spark, settings))
        .writeStream.format("delta")
        .outputMode("append")
        .queryName("bronze_transactions")
        .option("checkpointLocation", str(bronze.checkpoint(settings)))
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.trigger_interval)
    )
    return writer.start(str(bronze.path(settings)))


def run(settings: Settings, available_now: bool = False) -> StreamSummary:
    """Run the job: until everything available is processed, or until interrupted."""
    spark = spark_session(settings, "stockstream-stream", create_tables=(BRONZE_TRANSACTIONS,))
    query = start_bronze(spark, settings, available_now)
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        log.info("stopping the stream")
        query.stop()
    progress = query.recentProgress
    # Each query keeps its last progress updates; a long run reports the recent window only.
    return StreamSummary(
        batches=sum(1 for p in progress if p.get("numInputRows", 0) > 0),
        input_rows=sum(int(p.get("numInputRows", 0)) for p in progress),
    )

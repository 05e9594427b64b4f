"""The walking skeleton's steps as plain functions: the CLI, the demo and the Airflow DAG call these."""

from __future__ import annotations

from datetime import date

from stockstream.broker.admin import ensure_topic
from stockstream.broker.replay import ReplayReport, publish
from stockstream.config import Settings
from stockstream.market.sample import sample_transactions
from stockstream.pipeline.stream import StreamSummary, run
from stockstream.spark import spark_session
from stockstream.tables import BRONZE_TRANSACTIONS


def replay_sample(settings: Settings, count: int, day: date) -> ReplayReport:
    """Publish the deterministic sample of `count` trades on `day`."""
    ensure_topic(settings)
    return publish(settings, sample_transactions(count, day))


def stream_available_now(settings: Settings) -> StreamSummary:
    """Process everything in Kafka into the lakehouse, then return."""
    return run(settings, available_now=True)


def bronze_count(settings: Settings) -> int:
    """Rows in bronze.transactions."""
    spark = spark_session(settings, "stockstream-count")
    return int(spark.table(BRONZE_TRANSACTIONS).count())

"""The walking skeleton's steps as plain functions: the CLI, the demo and the Airflow DAG call these."""

from __future__ import annotations

from datetime import date

from stockstream.broker.admin import ensure_topic
from stockstream.broker.replay import ReplayReport, publish
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.sample import sample_transactions
from stockstream.spark import spark_session
from stockstream.tables import BRONZE_TRANSACTIONS


def replay_sample(settings: Settings, count: int, day: date) -> ReplayReport:
    """Publish the deterministic sample of `count` trades on `day`."""
    ensure_topic(settings)
    return publish(settings, sample_transactions(count, day))


def wait_for_stream(settings: Settings, end_offsets: dict[int, int], timeout: float = 600) -> None:
    """Wait until the stream service has processed every partition up to `end_offsets`."""
    from stockstream.pipeline.progress import wait_processed

    spark = spark_session(settings, "stockstream-wait")
    missing = wait_processed(spark, settings, end_offsets, timeout=timeout)
    if missing:
        raise StockstreamError(
            f"the stream did not process {sum(missing.values())} records within {timeout:.0f}s",
            "is the stream service running? `stockstream status` shows it, `stockstream up` starts it",
        )


def bronze_count(settings: Settings) -> int:
    """Rows in bronze.transactions."""
    spark = spark_session(settings, "stockstream-count")
    return int(spark.table(BRONZE_TRANSACTIONS).count())

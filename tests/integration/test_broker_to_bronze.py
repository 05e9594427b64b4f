"""The walking skeleton on real parts: KRaft broker -> Spark Structured Streaming -> Delta bronze."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from stockstream.broker.admin import end_offsets, ensure_topic, partition_count
from stockstream.broker.replay import ReplayReport
from stockstream.config import Settings
from stockstream.market.sample import sample_transactions
from stockstream.pipeline.stream import run
from stockstream.skeleton import replay_sample
from stockstream.tables import BRONZE_TRANSACTIONS, table

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)


def bronze_rows(spark: SparkSession, settings: Settings) -> list[tuple[str, str, str, int, int]]:
    frame = (
        table(BRONZE_TRANSACTIONS)
        .read(spark, settings)
        .select(
            F.get_json_object(F.col("value").cast("string"), "$.txn_id").alias("txn_id"),
            F.get_json_object(F.col("value").cast("string"), "$.ticker").alias("ticker"),
            "key",
            "partition",
            "offset",
        )
    )
    return [tuple(row) for row in frame.collect()]  # type: ignore[misc]


def assert_offsets_contiguous(rows: list[tuple[str, str, str, int, int]], ends: dict[int, int]) -> None:
    by_partition: dict[int, list[int]] = {}
    for *_, partition, offset in rows:
        by_partition.setdefault(partition, []).append(offset)
    assert {p: sorted(o) for p, o in by_partition.items()} == {
        p: list(range(end)) for p, end in ends.items() if end > 0
    }


def test_every_replayed_record_lands_in_bronze_exactly_once(broker: Settings, spark: SparkSession) -> None:
    settings = broker
    expected = {t.txn_id: t for t in sample_transactions(1000, DAY)}

    report: ReplayReport = replay_sample(settings, 1000, DAY)
    assert report.sent == 1000
    assert partition_count(settings, settings.topic) == settings.topic_partitions
    assert report.end_offsets == {p: o for p, o in end_offsets(settings).items() if o > 0}

    summary = run(settings, available_now=True, stages=("bronze",))
    assert summary.input_rows == 1000

    rows = bronze_rows(spark, settings)
    assert len(rows) == 1000
    assert {row[0] for row in rows} == set(expected), "every txn_id arrives, none twice"
    for txn_id, ticker, key, _, _ in rows:
        assert ticker == expected[txn_id].ticker == key, "the record key is the ticker"
    assert_offsets_contiguous(rows, report.end_offsets)

    raw = (
        table(BRONZE_TRANSACTIONS)
        .read(spark, settings)
        .filter(F.col("offset") == 0)
        .select("value", "topic")
        .first()
    )
    assert raw is not None and raw.topic == settings.topic
    assert json.loads(bytes(raw.value))["txn_id"] in expected

    detail = spark.sql(f"DESCRIBE DETAIL {table(BRONZE_TRANSACTIONS).ref(settings)}").first()
    assert detail is not None
    assert detail.partitionColumns == ["ingest_date"]
    assert detail.location.rstrip("/").endswith(str(table(BRONZE_TRANSACTIONS).path(settings)))

    # A second run finds nothing new: the checkpoint remembers what was written.
    assert run(settings, available_now=True, stages=("bronze",)).input_rows == 0
    assert table(BRONZE_TRANSACTIONS).read(spark, settings).count() == 1000

    # More records later continue from the committed offsets.
    later = replay_sample(settings, 200, date(2026, 11, 23))
    assert run(settings, available_now=True, stages=("bronze",)).input_rows == 200
    rows = bronze_rows(spark, settings)
    assert len(rows) == 1200 and len({row[0] for row in rows}) == 1200
    assert_offsets_contiguous(rows, end_offsets(settings))
    assert later.sent == 200


def test_ensure_topic_is_idempotent(broker: Settings) -> None:
    ensure_topic(broker, topic="scratch", partitions=2)
    ensure_topic(broker, topic="scratch", partitions=2)
    assert partition_count(broker, "scratch") == 2

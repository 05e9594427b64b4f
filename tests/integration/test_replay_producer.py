"""publish's confluent-kafka producer on the real broker: each ticker lands on the partition the
Java and kafka-python producers pick for it (murmur2), the values are the contract's bytes, and
the report's offsets are where the records are."""

from __future__ import annotations

from contextlib import closing
from datetime import date

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from stockstream.broker.admin import ensure_topic, partition_count
from stockstream.broker.replay import publish
from stockstream.config import Settings
from stockstream.market.sample import sample_transactions

pytestmark = pytest.mark.integration


def test_records_land_where_the_java_producer_puts_them_with_the_reported_offsets(broker: Settings) -> None:
    settings = broker.model_copy(update={"topic": "replay-producer-test"})
    ensure_topic(settings)
    partitions = partition_count(settings, settings.topic)
    trades = list(sample_transactions(3000, date(2026, 11, 20)))
    report = publish(settings, trades, day_of=lambda txn: date(2026, 11, 20))
    assert report.sent == len(trades) and not report.interrupted

    received = []
    with closing(
        KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    ) as consumer:
        assigned = [TopicPartition(settings.topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning()
        for _ in range(100):
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(records)
            if len(received) >= len(trades):
                break
    assert len(received) == len(trades)

    # Same key, same partition as Java's default partitioner: murmur2(key) mod partitions.
    def java_partition(key: bytes) -> int:
        return (murmur2(key) & 0x7FFFFFFF) % partitions

    assert len({java_partition(txn.ticker.encode()) for txn in trades}) > 1
    for record in received:
        assert record.partition == java_partition(record.key)
    # The values are the contract's bytes, each ticker's in the order sent.
    by_partition: dict[int, list[bytes]] = {}
    for record in sorted(received, key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(record.value)
    for partition, values in by_partition.items():
        assert values == [t.to_json() for t in trades if java_partition(t.ticker.encode()) == partition]
    # The report's offsets, overall and for the day, are the records' offsets.
    offsets = {p: [r.offset for r in received if r.partition == p] for p in by_partition}
    assert report.start_offsets == {p: min(o) for p, o in offsets.items()}
    assert report.end_offsets == {p: max(o) + 1 for p, o in offsets.items()}
    day = report.days[date(2026, 11, 20)]
    assert day.records == len(trades)
    assert day.counts == {p: len(o) for p, o in offsets.items()}
    assert (day.start_offsets, day.end_offsets) == (report.start_offsets, report.end_offsets)

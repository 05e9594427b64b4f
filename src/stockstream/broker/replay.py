"""The replay producer: publishes transactions to the topic with an idempotent, acks=all producer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import RecordMetadata

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction

log = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    """What one replay sent: record count and, per partition, the offset after its last record."""

    topic: str
    sent: int = 0
    end_offsets: dict[int, int] = field(default_factory=dict)

    def record(self, metadata: RecordMetadata) -> None:
        self.sent += 1
        after = metadata.offset + 1
        if after > self.end_offsets.get(metadata.partition, -1):
            self.end_offsets[metadata.partition] = after


def producer(settings: Settings) -> KafkaProducer:
    """An idempotent producer (acks=all): a retried send is never written twice."""
    try:
        return KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id="stockstream-replay",
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            batch_size=256 * 1024,
            max_in_flight_requests_per_connection=5,
            request_timeout_ms=30000,
        )
    except KafkaError as exc:
        raise StockstreamError(
            f"cannot reach the Kafka broker at {settings.bootstrap_servers}: {exc}",
            "start it with `stockstream up` (or `make up`)",
        ) from exc


def publish(
    settings: Settings,
    transactions: Iterable[Transaction],
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> ReplayReport:
    """Send every transaction (key = ticker) and wait until all are acknowledged."""
    report = ReplayReport(topic=settings.topic)
    failures: list[BaseException] = []
    queued = 0
    with closing(producer(settings)) as prod:
        for txn in transactions:
            future = prod.send(settings.topic, key=txn.ticker.encode(), value=txn.to_json())
            future.add_callback(report.record)
            future.add_errback(failures.append)
            queued += 1
            if on_progress is not None and queued % progress_every == 0:
                on_progress(queued)
        prod.flush()
    if failures:
        raise StockstreamError(
            f"{len(failures)} of {queued} records were not acknowledged by the broker: {failures[0]!r}",
            "check the broker with `stockstream status`; the replay is safe to run again "
            "(txn_ids are deterministic, silver de-duplicates)",
        )
    if on_progress is not None:
        on_progress(queued)
    log.info("replayed %d records to %s; end offsets %s", report.sent, report.topic, report.end_offsets)
    return report

"""The replay producer: publishes transactions to the topic with an idempotent, acks=all
producer, optionally paced by event time, and records where each day ended in each partition."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import RecordMetadata

from stockstream.broker.security import kafka_client_config
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_MS = 120_000
"""How long the producer keeps retrying a record before failing it (Kafka's default)."""
FLUSH_TIMEOUT = DELIVERY_TIMEOUT_MS / 1000 + 30.0
"""Seconds publish waits for the last acknowledgements: every record is acknowledged or failed
within the delivery timeout, so past it the broker is gone and the replay gives up."""
SEND_BLOCK_MS = 60_000
"""How long one send() may wait for metadata or buffer space before failing (Kafka's default)."""
CLOSE_TIMEOUT = 10.0
"""Seconds the producer may take to close; records still unsent after that are abandoned (they
were already counted as not acknowledged)."""
AGAIN = (
    "check the broker with `stockstream status`; the replay is safe to run again "
    "(txn_ids are deterministic, silver de-duplicates)"
)


@dataclass
class DayOffsets:
    """Where one day's records went: count, and per partition the first and the next offset."""

    records: int = 0
    start_offsets: dict[int, int] = field(default_factory=dict)
    end_offsets: dict[int, int] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def add(self, partition: int, offset: int) -> None:
        self.records += 1
        self.counts[partition] = self.counts.get(partition, 0) + 1
        self.start_offsets[partition] = min(offset, self.start_offsets.get(partition, offset))
        self.end_offsets[partition] = max(offset + 1, self.end_offsets.get(partition, 0))

    def merge(self, other: DayOffsets) -> None:
        """Fold in what another producer sent of the same day."""
        self.records += other.records
        for partition, count in other.counts.items():
            self.counts[partition] = self.counts.get(partition, 0) + count
        widen(self.start_offsets, self.end_offsets, other.start_offsets, other.end_offsets)


def widen(
    starts: dict[int, int], ends: dict[int, int], more_starts: dict[int, int], more_ends: dict[int, int]
) -> None:
    """Per partition, the lowest first offset and the highest next offset of both."""
    for partition, offset in more_starts.items():
        starts[partition] = min(offset, starts.get(partition, offset))
    for partition, offset in more_ends.items():
        ends[partition] = max(offset, ends.get(partition, offset))


@dataclass
class ReplayReport:
    """What one replay sent: records, per partition its first offset and the offset after its
    last record, per day the same, how long it took and whether it was interrupted."""

    topic: str
    sent: int = 0
    start_offsets: dict[int, int] = field(default_factory=dict)
    end_offsets: dict[int, int] = field(default_factory=dict)
    days: dict[date, DayOffsets] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    cutoff: date | None = None  # after an interruption: the first day not sent completely

    def record(self, day: date | None, metadata: RecordMetadata) -> None:
        self.sent += 1
        first = self.start_offsets.get(metadata.partition, metadata.offset)
        self.start_offsets[metadata.partition] = min(first, metadata.offset)
        after = metadata.offset + 1
        if after > self.end_offsets.get(metadata.partition, -1):
            self.end_offsets[metadata.partition] = after
        if day is not None:
            self.days.setdefault(day, DayOffsets()).add(metadata.partition, metadata.offset)

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def producer(settings: Settings) -> KafkaProducer:
    """An idempotent producer (acks=all): a retried send is never written twice. Batching and
    linger favour throughput; the records are small JSON."""
    try:
        return KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id="stockstream-replay",
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            batch_size=512 * 1024,
            compression_type="gzip",
            max_in_flight_requests_per_connection=5,
            request_timeout_ms=30000,
            delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
            max_block_ms=SEND_BLOCK_MS,
            **kafka_client_config(settings),
        )
    except KafkaError as exc:
        raise StockstreamError(
            f"cannot reach the Kafka broker at {settings.bootstrap_servers}: {exc}",
            "start it with `stockstream up` (or `make up`)",
        ) from exc


def close(prod: KafkaProducer) -> None:
    """Close within CLOSE_TIMEOUT. close() flushes again and times out on a dead broker: that must
    not hide publish's own message (how many records, safe to run again)."""
    try:
        prod.close(timeout=CLOSE_TIMEOUT)
    except KafkaTimeoutError:
        log.warning("the producer did not close within %.0fs", CLOSE_TIMEOUT)


def publish(
    settings: Settings,
    transactions: Iterable[Transaction],
    *,
    day_of: Callable[[Transaction], date] | None = None,
    speed: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """Send every transaction (key = ticker) in the given order and wait until all are
    acknowledged. speed 0 sends as fast as possible; speed N replays N times faster than the
    market (1 = market time). Ctrl-C stops sending, flushes what was sent and returns a report
    marked interrupted."""
    if speed < 0:
        raise StockstreamError(
            f"--speed {speed} is negative", "use 0 (as fast as possible), 1 (market time) or more"
        )
    from stockstream.broker.admin import require_broker

    require_broker(settings)
    report = ReplayReport(topic=settings.topic)
    failures: list[BaseException] = []
    refused: KafkaError | None = None
    queued = 0
    started = time.monotonic()
    first_event = None
    prod = producer(settings)
    try:
        try:
            for txn in transactions:
                if speed > 0:
                    first_event = first_event or txn.timestamp
                    due = (txn.timestamp - first_event).total_seconds() / speed
                    delay = due - (time.monotonic() - started)
                    if delay > 0:
                        sleep(delay)
                day = day_of(txn) if day_of else None
                future = prod.send(settings.topic, key=txn.ticker.encode(), value=txn.to_json())
                future.add_callback(lambda metadata, day=day: report.record(day, metadata))
                future.add_errback(failures.append)
                queued += 1
                if on_progress is not None and queued % progress_every == 0:
                    on_progress(queued)
        except KeyboardInterrupt:
            report.interrupted = True
            log.warning("interrupted: flushing the %d records sent so far", queued)
        except KafkaError as exc:
            # send() blocks up to max_block_ms for metadata or buffer space, then fails: the
            # broker is gone. What was queued is still flushed, then reported.
            refused = exc
            log.warning("the broker stopped taking records after %d: %r", queued, exc)
        try:
            prod.flush(timeout=FLUSH_TIMEOUT)
        except KafkaTimeoutError:
            pending = queued - report.sent - len(failures)
            raise StockstreamError(
                f"{pending} of {queued} records were not acknowledged by the broker at "
                f"{settings.bootstrap_servers} within {FLUSH_TIMEOUT:.0f}s",
                AGAIN,
            ) from None
    finally:
        close(prod)
    report.seconds = time.monotonic() - started
    if failures:
        raise StockstreamError(
            f"{len(failures)} of {queued} records were not acknowledged by the broker: {failures[0]!r}",
            AGAIN,
        )
    if refused is not None:
        raise StockstreamError(
            f"the broker took {queued} records, then refused more: {refused!r}",
            AGAIN,
        )
    if on_progress is not None:
        on_progress(queued)
    log.info(
        "replayed %d records to %s in %.1fs (%.0f records/s)",
        report.sent,
        report.topic,
        report.seconds,
        report.rate,
    )
    return report

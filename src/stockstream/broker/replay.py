"""The replay producer: publishes transactions to the topic with an idempotent, acks=all
producer, optionally paced by event time, and records where each day ended in each partition.

`publish` sends with confluent-kafka (librdkafka): a Python call per record and the batching,
compression and retries in C threads, several times kafka-python's records/s on one core
(BENCHMARKS.md). `producer()` is the kafka-python producer, kept for the callers that want a
future per record (the live market, the chaos lab's hand-made records)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from confluent_kafka import KafkaError as DeliveryError
from confluent_kafka import KafkaException, Message, Producer
from kafka import KafkaProducer
from kafka.errors import KafkaError

from stockstream.broker.security import kafka_client_config, librdkafka_config
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
"""How long sending one record may wait for room in the producer's buffer before the replay
gives up (kafka-python's and Java's max.block.ms default)."""
CLOSE_TIMEOUT = 10.0
"""Seconds closing the producer may take after publish gave up (a bound the chaos lab counts on):
the records still unacknowledged were already reported as such, so they are purged and the close
waits for none of them."""
BUFFER_KBYTES = 32 * 1024
"""The producer's buffer: kafka-python's and Java's buffer.memory default (32 MB)."""
POLL_EVERY = 256
"""Records sent between two polls of the delivery reports: a report frees its record's room in
the buffer and tells the replay where the record went."""
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

    def record(self, day: date | None, partition: int, offset: int) -> None:
        """One acknowledged record of `day` (None: not a replayed day) at partition, offset."""
        self.sent += 1
        first = self.start_offsets.get(partition, offset)
        self.start_offsets[partition] = min(first, offset)
        after = offset + 1
        if after > self.end_offsets.get(partition, -1):
            self.end_offsets[partition] = after
        if day is not None:
            self.days.setdefault(day, DayOffsets()).add(partition, offset)

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def producer(settings: Settings) -> KafkaProducer:
    """A kafka-python producer with publish's semantics: idempotent (acks=all), so a retried send
    is never written twice; batching and linger favour throughput; the records are small JSON."""
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


def publisher_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's properties for publish: the settings of producer(), under librdkafka's names.
    Keys are hashed with murmur2 as by the Java and kafka-python producers and Spark's Kafka sink,
    so a ticker lands on the same partition whichever client sent it."""
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": "stockstream-replay",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 20,
        "batch.size": 512 * 1024,
        "compression.type": "gzip",
        "max.in.flight.requests.per.connection": 5,
        "request.timeout.ms": 30000,
        "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
        "queue.buffering.max.kbytes": BUFFER_KBYTES,
        "partitioner": "murmur2_random",
        # librdkafka's own log lines (a broker that went away, ...) go to this module's logger,
        # served by poll(), instead of straight to stderr under the progress bar.
        "logger": log,
        **librdkafka_config(settings),
    }


def publisher(settings: Settings) -> Producer:
    """publish's producer. librdkafka checks the properties here; it connects in the background."""
    try:
        return Producer(publisher_config(settings))
    except KafkaException as exc:
        raise StockstreamError(
            f"cannot set up the Kafka producer for {settings.bootstrap_servers}: {exc}",
            "check the STOCKSTREAM_KAFKA_* settings (docs/security.md)",
        ) from exc


class BufferFull(Exception):
    """The producer's buffer stayed full for SEND_BLOCK_MS: the broker takes no more records."""


class Deliveries:
    """Delivery reports of one publish: acknowledged records go into the report, each with its
    day; failed ones are kept. One callback per day, so a record costs no new object."""

    def __init__(self, report: ReplayReport) -> None:
        self.report = report
        self.failures: list[DeliveryError] = []
        self._callbacks: dict[date | None, Callable[[DeliveryError | None, Message], None]] = {}

    def of(self, day: date | None) -> Callable[[DeliveryError | None, Message], None]:
        """The delivery callback of `day`'s records."""
        callback = self._callbacks.get(day)
        if callback is None:
            record = self.report.record

            def callback(error: DeliveryError | None, message: Message, day: date | None = day) -> None:
                if error is not None:
                    self.failures.append(error)
                else:
                    record(day, message.partition(), message.offset())  # type: ignore[arg-type]

            self._callbacks[day] = callback
        return callback


def send(
    prod: Producer,
    topic: str,
    key: bytes,
    value: bytes,
    on_delivery: Callable[[DeliveryError | None, Message], None],
) -> None:
    """Queue one record. A full buffer is waited out (serving delivery reports, which free room)
    for up to SEND_BLOCK_MS, as kafka-python's send blocks up to max_block_ms; then BufferFull."""
    try:
        prod.produce(topic, value, key, on_delivery=on_delivery)
        return
    except BufferError:
        pass
    deadline = time.monotonic() + SEND_BLOCK_MS / 1000
    while True:
        prod.poll(0.1)
        try:
            prod.produce(topic, value, key, on_delivery=on_delivery)
            return
        except BufferError:
            if time.monotonic() >= deadline:
                raise BufferFull(
                    f"no room in the producer's buffer for {SEND_BLOCK_MS / 1000:.0f}s: "
                    f"{len(prod)} records wait for the broker"
                ) from None


def shut(prod: Producer) -> None:
    """Close publish's producer at once: records still unacknowledged were already reported as
    such, so they are purged rather than waited for again (close() would flush them first)."""
    if len(prod):
        prod.purge()
        prod.poll(0)  # the purged records' reports; publish has already counted them
    prod.close()


def on_schedule(
    transactions: Iterable[Transaction], speed: float, sleep: Callable[[float], None]
) -> Iterator[Transaction]:
    """The transactions, speed 0: at once; speed N: each one when its event time, counted from
    the first event and divided by N, has passed since the first was taken (an absolute schedule,
    so no drift)."""
    if speed == 0:
        yield from transactions
        return
    started = time.monotonic()
    first_event = None
    for txn in transactions:
        first_event = first_event or txn.timestamp
        delay = (txn.timestamp - first_event).total_seconds() / speed - (time.monotonic() - started)
        if delay > 0:
            sleep(delay)
        yield txn


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
    marked interrupted. A record the broker fails stops the sending: the rest would fail too."""
    if speed < 0:
        raise StockstreamError(
            f"--speed {speed} is negative", "use 0 (as fast as possible), 1 (market time) or more"
        )
    from stockstream.broker.admin import require_broker

    require_broker(settings)
    report = ReplayReport(topic=settings.topic)
    deliveries = Deliveries(report)
    refused: BaseException | None = None
    queued = 0
    topic = settings.topic
    poll_every = POLL_EVERY if speed == 0 else 1  # a paced record's report should not wait
    started = time.monotonic()
    prod = publisher(settings)
    try:
        try:
            for txn in on_schedule(transactions, speed, sleep):
                on_delivery = deliveries.of(day_of(txn) if day_of else None)
                send(prod, topic, txn.ticker.encode(), txn.to_json(), on_delivery)
                queued += 1
                if queued % poll_every == 0:
                    prod.poll(0)
                    if deliveries.failures:
                        break
                if on_progress is not None and queued % progress_every == 0:
                    on_progress(queued)
        except KeyboardInterrupt:
            report.interrupted = True
            log.warning("interrupted: flushing the %d records sent so far", queued)
        except (BufferFull, KafkaException) as exc:
            # The broker is gone (or the producer failed for good): what was queued is still
            # flushed, then reported.
            refused = exc
            log.warning("the broker stopped taking records after %d: %r", queued, exc)
        pending = prod.flush(FLUSH_TIMEOUT)
        if pending:
            raise StockstreamError(
                f"{pending} of {queued} records were not acknowledged by the broker at "
                f"{settings.bootstrap_servers} within {FLUSH_TIMEOUT:.0f}s",
                AGAIN,
            )
    finally:
        shut(prod)
    report.seconds = time.monotonic() - started
    failures = deliveries.failures
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

"""Records the broker deleted before the stream read them (retention overtaking a stopped or
lagging stream, or a topic deleted and made again): found by comparing where bronze's checkpoint
will resume with what the topic still holds, and reported with the offsets lost and what to do.

The Kafka source fails on data loss (failOnDataLoss=true); this module turns that into a message
a person can act on, and lets the job refuse to start on a gap instead of failing inside Spark
after a JVM start on every restart of its supervisor."""

from __future__ import annotations

import json
import logging
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from stockstream.broker.admin import broker_ready
from stockstream.broker.security import kafka_client_config
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.tables import BRONZE_TRANSACTIONS, table

log = logging.getLogger(__name__)

SPARK_DATA_LOSS = ("KAFKA_DATA_LOSS", "data may have been lost", "failOnDataLoss")
"""Phrases of the Kafka source's data-loss failures (its error class and its old message)."""


def committed_offsets(checkpoint: Path, topic: str) -> dict[int, int] | None:
    """Kafka partition -> offset the query resumes from: the end of the last batch its checkpoint
    committed. None before its first commit (a new query starts from the earliest offset)."""
    commits = [int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()]
    if not commits:
        return None
    lines = (checkpoint / "offsets" / str(max(commits))).read_text(encoding="utf-8").splitlines()
    # "v1", the batch metadata, then one line per source: {"topic": {"partition": offset}}.
    for line in lines[2:]:
        try:
            source = json.loads(line)
        except ValueError:
            continue
        if isinstance(source, dict) and isinstance(source.get(topic), dict):
            return {int(partition): int(offset) for partition, offset in source[topic].items()}
    return None


@dataclass(frozen=True)
class DataLoss:
    """Per partition, the offsets [first, next) the stream still needed and the topic no longer
    has (`lost`), and partitions that now end before where the stream had read (`reset`: the
    topic was deleted and made again)."""

    topic: str
    lost: dict[int, tuple[int, int]]
    reset: dict[int, tuple[int, int]]  # partition -> (the stream's offset, the topic's end)
    checkpoint: Path

    @property
    def records(self) -> int:
        """Records deleted before the stream read them."""
        return sum(end - start for start, end in self.lost.values())

    def message(self) -> str:
        parts = []
        if self.lost:
            ranges = ", ".join(
                f"partition {p} offsets {a}-{b - 1}" for p, (a, b) in sorted(self.lost.items())
            )
            parts.append(
                f"DATA LOSS: {self.records:,} records of topic {self.topic} were deleted by the broker "
                f"(retention) before the stream read them: {ranges}"
            )
        if self.reset:
            where = ", ".join(
                f"partition {p} ends at {end}, the stream had read to {mine}"
                for p, (mine, end) in sorted(self.reset.items())
            )
            parts.append(f"DATA LOSS: topic {self.topic} was deleted and made again ({where})")
        return "; ".join(parts)

    def hint(self) -> str:
        moved = self.checkpoint.with_name(self.checkpoint.name + ".lost")
        return (
            "nothing after the gap is processed until you decide. Replay the days those records "
            "held (`stockstream replay --start D --end D`: silver keeps each txn_id once), then accept "
            f"the gap by moving bronze's checkpoint aside: `mv {self.checkpoint} {moved}`; the "
            "stream then reads the topic again from its earliest offset (silver drops what it "
            "already has). To keep records longer, raise the topic's retention.ms"
        )

    def error(self) -> StockstreamError:
        return StockstreamError(self.message(), self.hint())


def _topic_offsets(settings: Settings, partitions: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """The earliest and the next offset of each partition of the topic."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="stockstream-data-loss",
        enable_auto_commit=False,
        request_timeout_ms=10000,
        **kafka_client_config(settings),
    )
    with closing(consumer):
        tps = [TopicPartition(settings.topic, p) for p in partitions]
        first = consumer.beginning_offsets(tps)
        ends = consumer.end_offsets(tps)
    return {tp.partition: o for tp, o in first.items()}, {tp.partition: o for tp, o in ends.items()}


def find_data_loss(
    committed: dict[int, int], earliest: dict[int, int], ends: dict[int, int]
) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """(lost, reset) of DataLoss from where the stream resumes and the topic's offsets."""
    lost = {
        p: (offset, earliest[p]) for p, offset in committed.items() if p in earliest and earliest[p] > offset
    }
    reset = {p: (offset, ends[p]) for p, offset in committed.items() if p in ends and ends[p] < offset}
    return lost, reset


def check_data_loss(settings: Settings) -> DataLoss | None:
    """The records the stream still needs that the topic no longer holds; None when there are
    none, or when it cannot tell (no committed batch yet, or the broker does not answer: the
    Kafka source then fails or waits on its own)."""
    checkpoint = table(BRONZE_TRANSACTIONS).checkpoint(settings)
    committed = committed_offsets(checkpoint, settings.topic)
    if not committed or not broker_ready(settings.bootstrap_servers, kafka_client_config(settings)):
        return None
    try:
        earliest, ends = _topic_offsets(settings, sorted(committed))
    except KafkaError as exc:
        log.warning("cannot read the offsets of %s to check for data loss: %s", settings.topic, exc)
        return None
    lost, reset = find_data_loss(committed, earliest, ends)
    if not lost and not reset:
        return None
    return DataLoss(settings.topic, lost, reset, checkpoint)


def mentions_data_loss(error: BaseException) -> bool:
    """True when a query failed because the Kafka source found records missing."""
    text = str(error)
    return any(phrase in text for phrase in SPARK_DATA_LOSS)

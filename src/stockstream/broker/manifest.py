"""ops.replay_manifest: what a replay sent for each day, per partition, so a waiter knows when a
day is entirely in Kafka (and, with ops.stream_progress, entirely processed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stockstream.broker.replay import ReplayReport
from stockstream.config import Settings
from stockstream.tables import REPLAY_MANIFEST, table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MANIFEST_SCHEMA = (
    "replay_id STRING, trade_date DATE, topic STRING, partition INT, start_offset BIGINT, "
    "end_offset BIGINT, records BIGINT, source STRING, replayed_at TIMESTAMP"
)


def write_manifest(spark: SparkSession, settings: Settings, report: ReplayReport, source: str) -> str:
    """Append one row per (day, partition) of the report; returns the replay's id."""
    replay_id = uuid.uuid4().hex
    replayed_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            replay_id,
            day,
            report.topic,
            partition,
            offsets.start_offsets[partition],
            end,
            offsets.counts[partition],
            source,
            replayed_at,
        )
        for day, offsets in sorted(report.days.items())
        for partition, end in sorted(offsets.end_offsets.items())
    ]
    if rows:
        frame = spark.createDataFrame(rows, MANIFEST_SCHEMA)
        frame.write.format("delta").mode("append").save(str(table(REPLAY_MANIFEST).path(settings)))
    return replay_id

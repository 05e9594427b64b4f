"""ops.replay_manifest: what a replay sent for each day, per partition, so a waiter knows when a
day is entirely in Kafka (and, with ops.stream_progress, entirely processed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from stockstream.broker.replay import ReplayReport
from stockstream.config import Settings
from stockstream.pipeline.writes import append_rows
from stockstream.tables import REPLAY_MANIFEST, ensure, table


def write_manifest(settings: Settings, report: ReplayReport, source: str) -> str:
    """Append one row per (day, partition) of the report (delta-rs: a few rows, no JVM once the
    table exists); returns the replay's id."""
    replay_id = uuid.uuid4().hex
    replayed_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "replay_id": replay_id,
            "trade_date": day,
            "topic": report.topic,
            "partition": partition,
            "start_offset": offsets.start_offsets[partition],
            "end_offset": end,
            "records": offsets.counts[partition],
            "source": source,
            "replayed_at": replayed_at,
        }
        for day, offsets in sorted(report.days.items())
        for partition, end in sorted(offsets.end_offsets.items())
    ]
    if rows:
        ensure(settings, (REPLAY_MANIFEST,))
        append_rows(table(REPLAY_MANIFEST).path(settings), rows)
    return replay_id

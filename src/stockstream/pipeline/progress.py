"""Stream metrics: a StreamingQueryListener that buffers every batch's progress, the flush of those
rows into ops.stream_progress and the live status file (whether a day is complete: completion.py)."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql.streaming.listener import StreamingQueryListener

from stockstream.completion import SILVER_QUERY
from stockstream.config import Settings
from stockstream.pipeline.writes import append_rows
from stockstream.tables import STREAM_PROGRESS, table

if TYPE_CHECKING:
    from pyspark.sql.streaming.listener import (
        QueryIdleEvent,
        QueryProgressEvent,
        QueryStartedEvent,
        QueryTerminatedEvent,
    )

log = logging.getLogger(__name__)


def _timestamp(text: str | None) -> datetime | None:
    """Spark's ISO timestamps ('2026-01-02T14:30:00.000Z') as naive UTC datetimes."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def kafka_end_offsets(source_end_offset: str | None) -> tuple[str | None, dict[int, int] | None]:
    """A Kafka source's endOffset JSON ({"topic": {"0": 12}}) as (topic, {partition: offset})."""
    if not source_end_offset:
        return None, None
    try:
        parsed = json.loads(source_end_offset)
    except ValueError:
        return None, None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        return None, None
    ((topic, offsets),) = parsed.items()
    if not isinstance(offsets, dict):
        return None, None
    return str(topic), {int(p): int(o) for p, o in offsets.items()}


def progress_row(progress: Any) -> dict[str, Any]:
    """One ops.stream_progress row from a StreamingQueryProgress."""
    topic, offsets = None, None
    for source in progress.sources:
        if source.description.startswith("Kafka"):
            topic, offsets = kafka_end_offsets(source.endOffset)
    return {
        "query_name": progress.name,
        "batch_id": int(progress.batchId),
        "run_id": str(progress.runId),
        "topic": topic,
        "end_offsets": offsets,
        "input_rows": int(progress.numInputRows),
        "valid_rows": None,
        "quarantined_rows": None,
        "duplicate_rows": None,
        "input_rows_per_second": float(progress.inputRowsPerSecond),
        "processed_rows_per_second": float(progress.processedRowsPerSecond),
        "duration_ms": int(progress.durationMs.get("triggerExecution", 0)),
        "watermark": _timestamp(progress.eventTime.get("watermark")),
        "processed_at": _timestamp(progress.timestamp),
    }


class ProgressListener(StreamingQueryListener):
    """Buffers each query's progress; the job's main loop flushes it (no Spark work on the
    listener bus). Silver's rows are written inside its own batches, so they are not buffered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self.latest: dict[str, dict[str, Any]] = {}
        self.failures: list[str] = []

    def onQueryStarted(self, event: QueryStartedEvent) -> None:
        log.info("query %s started (run %s)", event.name, event.runId)

    def onQueryProgress(self, event: QueryProgressEvent) -> None:
        row = progress_row(event.progress)
        with self._lock:
            self.latest[row["query_name"]] = row
            if row["query_name"] != SILVER_QUERY and row["input_rows"] > 0:
                self._pending.append(row)

    def onQueryIdle(self, event: QueryIdleEvent) -> None:
        pass

    def onQueryTerminated(self, event: QueryTerminatedEvent) -> None:
        if event.exception:
            with self._lock:
                self.failures.append(f"query {event.id}: {event.exception.splitlines()[0]}")

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            rows, self._pending = self._pending, []
        return rows

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.latest)


def write_progress(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """Append listener rows to ops.stream_progress (delta-rs: a few rows, no Spark job)."""
    append_rows(table(STREAM_PROGRESS).path(settings), rows)


def write_status(path: Path, status: dict[str, Any]) -> None:
    """Replace the status file atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(status, default=str, indent=1))
    temporary.replace(path)

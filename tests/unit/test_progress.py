"""Stream progress bookkeeping: Kafka end offsets, what is still behind, day completion and the
ops.stream_progress row made from a StreamingQueryProgress."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from stockstream.completion import DayCompletion, behind
from stockstream.pipeline.progress import kafka_end_offsets, progress_row
from tests.unit.ddl_columns import ddl_columns

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"transactions": {"0": 12, "2": 7, "1": 0}}', ("transactions", {0: 12, 1: 0, 2: 7})),
        ('{"transactions": {}}', ("transactions", {})),
        (None, (None, None)),
        ("", (None, None)),
        ("{not json", (None, None)),
        ("[1, 2]", (None, None)),
        ('{"a": {"0": 1}, "b": {"0": 2}}', (None, None)),  # several topics: no single answer
        ("{}", (None, None)),
        ('{"transactions": 12}', (None, None)),
    ],
)
def test_kafka_end_offsets(text: str | None, expected: tuple[str | None, dict[int, int] | None]) -> None:
    assert kafka_end_offsets(text) == expected


@pytest.mark.parametrize(
    ("done", "targets", "expected"),
    [
        ({0: 10, 1: 5}, {0: 10, 1: 5}, {}),
        ({0: 12, 1: 9}, {0: 10, 1: 5}, {}),  # past the target is done too
        ({0: 4, 1: 5}, {0: 10, 1: 5}, {0: 6}),
        ({}, {2: 3, 0: 7}, {0: 7, 2: 3}),  # a partition never processed counts from 0
        ({0: 4, 5: 100}, {0: 10}, {0: 6}),  # partitions without a target do not matter
        ({0: 4}, {}, {}),
    ],
)
def test_behind(done: dict[int, int], targets: dict[int, int], expected: dict[int, int]) -> None:
    result = behind(done, targets)
    assert result == expected
    assert list(result) == sorted(result)


def test_day_completion() -> None:
    day = date(2026, 10, 6)
    complete = DayCompletion(day, replayed=True, behind={})
    waiting = DayCompletion(day, replayed=True, behind={0: 6, 2: 4})
    never = DayCompletion(day, replayed=False, behind={})
    assert (complete.complete, waiting.complete, never.complete) == (True, False, False)
    assert complete.describe() == "2026-10-06 is complete in silver"
    assert waiting.describe() == "2026-10-06: 10 records in 2 partitions not processed yet"
    assert never.describe() == "2026-10-06 has no replay manifest: replay it first"


def progress(**overrides: object) -> SimpleNamespace:
    """A StreamingQueryProgress with the attributes progress_row reads."""
    fields: dict[str, object] = {
        "name": "bronze",
        "batchId": 41,
        "runId": "3f2a-run",
        "numInputRows": 250,
        "inputRowsPerSecond": 125.5,
        "processedRowsPerSecond": 200.0,
        "durationMs": {"addBatch": 900, "triggerExecution": 1250},
        "eventTime": {},
        "timestamp": "2026-10-06T14:30:05.123Z",
        "sources": [
            SimpleNamespace(
                description="KafkaV2[Subscribe[transactions]]",
                endOffset='{"transactions": {"1": 40, "0": 52}}',
            )
        ],
    }
    return SimpleNamespace(**(fields | overrides))


def test_progress_row_from_a_kafka_batch() -> None:
    row = progress_row(progress())
    assert row == {
        "query_name": "bronze",
        "batch_id": 41,
        "run_id": "3f2a-run",
        "topic": "transactions",
        "end_offsets": {0: 52, 1: 40},
        "input_rows": 250,
        "valid_rows": None,
        "quarantined_rows": None,
        "duplicate_rows": None,
        "input_rows_per_second": 125.5,
        "processed_rows_per_second": 200.0,
        "duration_ms": 1250,
        "watermark": None,
        "processed_at": datetime(2026, 10, 6, 14, 30, 5, 123000),
    }
    names = [column for column, _ in ddl_columns("ops.stream_progress")]
    assert list(row) == names


def test_progress_row_watermark_is_naive_utc() -> None:
    row = progress_row(
        progress(
            name="minute_bars",
            eventTime={"watermark": "2026-10-06T23:59:30.000Z", "max": "2026-10-07T00:01:30.000Z"},
            timestamp="2026-10-07T00:01:31.500+02:00",
            sources=[
                SimpleNamespace(description="DeltaSource[file:/silver]", endOffset='{"reservoirVersion": 3}')
            ],
            durationMs={},
        )
    )
    assert row["watermark"] == datetime(2026, 10, 6, 23, 59, 30)
    assert row["watermark"].tzinfo is None
    assert row["processed_at"] == datetime(2026, 10, 6, 22, 1, 31, 500000)
    # Not a Kafka source: no topic, no offsets; no triggerExecution: 0 ms.
    assert (row["topic"], row["end_offsets"], row["duration_ms"]) == (None, None, 0)


def test_progress_row_takes_the_offsets_of_the_kafka_source() -> None:
    row = progress_row(
        progress(
            sources=[
                SimpleNamespace(
                    description="KafkaV2[Subscribe[transactions]]", endOffset='{"transactions": {"0": 9}}'
                ),
                SimpleNamespace(description="DeltaSource[file:/ref]", endOffset='{"reservoirVersion": 7}'),
            ]
        )
    )
    assert (row["topic"], row["end_offsets"]) == ("transactions", {0: 9})

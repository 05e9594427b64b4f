"""Day completion read without a JVM: ops tables written as Delta (by delta-rs here, by Spark in
production) and read back through stockstream.lake."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from stockstream import lake
from stockstream.completion import day_completion, manifest_end_offsets, processed_offsets, replayed_records
from stockstream.config import Settings, get_settings
from stockstream.tables import REPLAY_MANIFEST, STREAM_PROGRESS, table

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 19)
NEXT = date(2026, 11, 20)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(data_root=tmp_path, topic="transactions")


def write_progress(settings: Settings, rows: list[tuple[str, str, list[tuple[int, int]]]]) -> None:
    data = pa.table(
        {
            "query_name": pa.array([r[0] for r in rows]),
            "topic": pa.array([r[1] for r in rows]),
            "end_offsets": pa.array([r[2] for r in rows], type=pa.map_(pa.int32(), pa.int64())),
        }
    )
    write_deltalake(str(table(STREAM_PROGRESS).path(settings)), data, mode="append")


def write_manifest(settings: Settings, rows: list[tuple[date, str, int, int, int]]) -> None:
    data = pa.table(
        {
            "trade_date": pa.array([r[0] for r in rows], type=pa.date32()),
            "topic": pa.array([r[1] for r in rows]),
            "partition": pa.array([r[2] for r in rows], type=pa.int32()),
            "end_offset": pa.array([r[3] for r in rows], type=pa.int64()),
            "records": pa.array([r[4] for r in rows], type=pa.int64()),
        }
    )
    write_deltalake(
        str(table(REPLAY_MANIFEST).path(settings)), data, mode="append", partition_by=["trade_date"]
    )


def test_missing_tables_mean_nothing_recorded(settings: Settings) -> None:
    assert processed_offsets(settings) == {}
    assert manifest_end_offsets(settings, [DAY]) == {}
    assert replayed_records(settings, DAY) == 0
    completion = day_completion(settings, DAY)
    assert (completion.replayed, completion.complete) == (False, False)
    assert lake.version(settings, STREAM_PROGRESS) is None


def test_processed_offsets_take_the_maximum_per_partition_of_silver_on_the_topic(settings: Settings) -> None:
    write_progress(
        settings,
        [
            ("silver", "transactions", [(0, 10), (1, 4)]),
            ("silver", "transactions", [(0, 25)]),
            ("bronze", "transactions", [(0, 99), (1, 99)]),  # bronze is ahead: not what counts
            ("silver", "other-topic", [(1, 50)]),
        ],
    )
    assert processed_offsets(settings) == {0: 25, 1: 4}
    assert processed_offsets(settings, "bronze") == {0: 99, 1: 99}


def test_day_completion_compares_the_days_manifest_with_silver(settings: Settings) -> None:
    write_manifest(
        settings,
        [
            (DAY, "transactions", 0, 20, 20),
            (DAY, "transactions", 1, 8, 8),
            (DAY, "transactions", 0, 25, 5),  # a second replay of the day reached offset 25
            (NEXT, "transactions", 0, 40, 15),
            (DAY, "other-topic", 2, 7, 7),
        ],
    )
    write_progress(settings, [("silver", "transactions", [(0, 25), (1, 6)])])
    assert manifest_end_offsets(settings, [DAY]) == {0: 25, 1: 8}
    assert manifest_end_offsets(settings, [DAY, NEXT]) == {0: 40, 1: 8}
    assert replayed_records(settings, DAY) == 33
    day = day_completion(settings, DAY)
    assert (day.replayed, day.complete, day.behind) == (True, False, {1: 2})
    write_progress(settings, [("silver", "transactions", [(1, 8)])])
    assert day_completion(settings, DAY).complete
    assert day_completion(settings, NEXT).behind == {0: 15}
    assert lake.version(settings, STREAM_PROGRESS) == 1

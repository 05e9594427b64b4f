"""The DAG steps' logic without Airflow: which day a run is for, the trailing window, a replay
that is not repeated, a stream that is not running, and the clean-up of old files."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from stockstream.config import Settings, get_settings
from stockstream.errors import StockstreamError
from stockstream.orchestration import steps
from stockstream.orchestration.days import previous_weekday, run_day, trailing_window
from stockstream.tables import REPLAY_MANIFEST, table

pytestmark = pytest.mark.unit


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("param", "start", "end", "run_after", "expected"),
    [
        ("2026-11-18", None, None, None, date(2026, 11, 18)),  # the param wins
        ("2026-11-18", utc(2026, 11, 16), utc(2026, 11, 17), None, date(2026, 11, 18)),
        (None, utc(2026, 11, 16), utc(2026, 11, 17), utc(2026, 11, 17), date(2026, 11, 16)),
        (None, utc(2026, 11, 20), utc(2026, 11, 21), utc(2026, 11, 21), date(2026, 11, 20)),  # Friday
        (None, utc(2026, 11, 21), utc(2026, 11, 22), utc(2026, 11, 22), date(2026, 11, 21)),  # skipped later
        ("", utc(2026, 11, 19), utc(2026, 11, 20), None, date(2026, 11, 19)),
        # A manual run without a logical date: the last weekday before it runs.
        (None, None, None, utc(2026, 11, 24, 9), date(2026, 11, 23)),
        (None, None, None, utc(2026, 11, 23, 9), date(2026, 11, 20)),  # Monday -> Friday
        (None, utc(2026, 11, 24, 9), utc(2026, 11, 24, 9), utc(2026, 11, 24, 9), date(2026, 11, 23)),
    ],
)
def test_run_day(
    param: str | None,
    start: datetime | None,
    end: datetime | None,
    run_after: datetime | None,
    expected: date,
) -> None:
    assert run_day(param, start, end, run_after) == expected


def test_run_day_is_a_plain_date_for_pendulum_intervals() -> None:
    """Spark refuses date subclasses (pendulum's Date) in createDataFrame."""
    import pendulum

    day = run_day(None, pendulum.datetime(2026, 11, 19, tz="UTC"), pendulum.datetime(2026, 11, 20, tz="UTC"))
    assert type(day) is date and day == date(2026, 11, 19)


@pytest.mark.parametrize(
    ("param", "message"),
    [("2026-11-21", "is a Saturday"), ("21/11/2026", "is not a date"), (None, "neither a day param")],
)
def test_run_day_says_what_is_wrong(param: str | None, message: str) -> None:
    with pytest.raises(StockstreamError, match=message):
        run_day(param)


def test_previous_weekday_and_trailing_window() -> None:
    assert previous_weekday(date(2026, 11, 23)) == date(2026, 11, 20)
    assert previous_weekday(date(2026, 11, 25)) == date(2026, 11, 24)
    assert trailing_window(date(2026, 11, 24), 5) == (date(2026, 11, 18), date(2026, 11, 24))
    assert trailing_window(date(2026, 11, 20), 1) == (date(2026, 11, 20), date(2026, 11, 20))
    assert trailing_window(date(2026, 11, 20), 10) == (date(2026, 11, 9), date(2026, 11, 20))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(data_root=tmp_path)


def record_replay(settings: Settings, day: date, records: list[int]) -> None:
    rows = len(records)
    data = pa.table(
        {
            "replay_id": pa.array(["r1"] * rows),
            "trade_date": pa.array([day] * rows, type=pa.date32()),
            "topic": pa.array([settings.topic] * rows),
            "partition": pa.array(list(range(rows)), type=pa.int32()),
            "end_offset": pa.array(records, type=pa.int64()),
            "records": pa.array(records, type=pa.int64()),
        }
    )
    write_deltalake(
        str(table(REPLAY_MANIFEST).path(settings)), data, mode="append", partition_by=["trade_date"]
    )


def test_a_recorded_replay_is_not_published_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2026, 11, 18)
    record_replay(settings, day, [40, 2])

    def publish(*args: object, **kwargs: object) -> None:
        raise AssertionError("the day was replayed already: nothing may be published")

    monkeypatch.setattr("stockstream.market.day_replay.replay_days", publish)
    assert steps.replay_day(settings, day) == {"day": "2026-11-18", "sent": 0, "already_replayed": 42}


def test_waiting_for_a_day_never_replayed_fails_at_once(settings: Settings) -> None:
    with pytest.raises(StockstreamError, match=r"no replay in ops\.replay_manifest") as caught:
        steps.stream_caught_up(settings, date(2026, 11, 18))
    assert caught.value.hint is not None and "replay" in caught.value.hint


def test_waiting_without_a_running_stream_says_how_to_start_it(settings: Settings) -> None:
    record_replay(settings, date(2026, 11, 18), [40])
    with pytest.raises(StockstreamError, match="streaming service is not running") as caught:
        steps.stream_caught_up(settings, date(2026, 11, 18))
    assert caught.value.hint is not None and "stockstream up" in caught.value.hint
    with pytest.raises(StockstreamError, match="not healthy") as unhealthy:
        steps.check_stream(settings)
    assert unhealthy.value.hint is not None and "stockstream up" in unhealthy.value.hint


def test_clean_old_files_keeps_recent_logs_and_checkpoints(settings: Settings) -> None:
    now = time.time()
    old = now - (settings.log_retention_days + 1) * 86400
    logs = settings.airflow_home / "logs" / "dag_id=market_day" / "run_id=old"
    logs.mkdir(parents=True)
    (logs / "attempt=1.log").write_text("old")
    recent = settings.airflow_home / "logs" / "dag_id=market_day" / "run_id=new"
    recent.mkdir(parents=True)
    (recent / "attempt=1.log").write_text("new")
    scratch = settings.data_root / "spark-tmp" / "blockmgr-dead"
    scratch.mkdir(parents=True)
    (scratch / "shuffle_0").write_text("x")
    checkpoint = settings.checkpoint_dir / "silver" / "transactions" / "main" / "offsets"
    checkpoint.mkdir(parents=True)
    (checkpoint / "0").write_text("v1")
    for path in (logs / "attempt=1.log", logs, scratch / "shuffle_0", scratch, checkpoint / "0"):
        os.utime(path, (old, old))
    removed = steps.clean_old_files(settings, now=now)
    assert removed == {"airflow_logs": 1, "spark_tmp": 1}
    assert not logs.exists() and not scratch.exists()
    assert (recent / "attempt=1.log").read_text() == "new"
    assert (checkpoint / "0").read_text() == "v1"  # checkpoints are the stream's, never removed here

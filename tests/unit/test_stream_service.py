"""The stream service: status-file parsing, health, lag and the status line, and the supervised
process with a stand-in job that writes a status file like the real one."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from typer.testing import CliRunner

from stockstream.cli import app
from stockstream.errors import StockstreamError
from stockstream.services.process import wait_until
from stockstream.services.stream import (
    NO_STATUS,
    StreamService,
    describe,
    parse_status,
    read_status,
    total_lag,
    unhealthy_reason,
)
from tests.conftest import isolated_settings

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 21, 5, 0, tzinfo=UTC)
PROCESS_STARTED = NOW - timedelta(minutes=5)


def query(batch_id: int, timestamp: str = "2026-11-23T21:04:58+00:00", rate: float = 850.0) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "input_rows": 100,
        "input_rows_per_second": 50.0,
        "processed_rows_per_second": rate,
        "duration_ms": 1200,
        "timestamp": timestamp,
        "watermark": None,
    }


def status_json(**overrides: Any) -> str:
    """A status file as the job writes it, 4 minutes into its run and updated 2 s ago."""
    status = {
        "pid": 123,
        "state": "running",
        "started_at": (NOW - timedelta(minutes=4)).isoformat(),
        "updated_at": (NOW - timedelta(seconds=2)).isoformat(),
        "queries": {"bronze": query(20), "silver": query(17), "minute_bars": query(9), "alerts": query(9)},
        "silver_offsets": {"0": 1234, "1": 999},
    }
    return json.dumps({**status, **overrides})


def reason(text: str, **kwargs: Any) -> str | None:
    return unhealthy_reason(parse_status(text), PROCESS_STARTED, NOW, **kwargs)


def test_a_fresh_status_of_this_run_is_healthy() -> None:
    assert reason(status_json()) is None
    assert reason(status_json(), job_pids={123, 456}) is None


def test_a_status_not_updated_for_a_minute_is_unhealthy() -> None:
    assert reason(status_json(updated_at=(NOW - timedelta(seconds=61)).isoformat())) == (
        "no status update for 61s"
    )
    assert reason(status_json(updated_at=(NOW - timedelta(seconds=59)).isoformat())) is None


def test_a_status_left_by_an_earlier_run_does_not_count() -> None:
    earlier = status_json(started_at=(PROCESS_STARTED - timedelta(minutes=1)).isoformat())
    assert reason(earlier) == NO_STATUS


def test_a_status_of_a_job_that_is_gone_or_not_running_is_unhealthy() -> None:
    assert reason(status_json(), job_pids={456}) == "job restarting (pid 123 is gone)"
    assert reason(status_json(state="starting")) == "job starting"
    assert reason(status_json(state="stopped")) == "job stopped"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        '{"pid": 123, "state": "runn',  # half-written
        "[]",
        status_json(started_at=None),
        status_json(updated_at="yesterday"),
        status_json(state=1),
    ],
)
def test_a_corrupt_status_file_is_no_status(tmp_path: Path, text: str) -> None:
    path = tmp_path / "stream-status.json"
    path.write_text(text)
    assert read_status(path) is None
    assert unhealthy_reason(read_status(path), PROCESS_STARTED, NOW) == NO_STATUS


def test_a_missing_status_file_is_no_status(tmp_path: Path) -> None:
    assert read_status(tmp_path / "none.json") is None


def test_the_status_file_is_parsed_field_by_field() -> None:
    status = parse_status(
        status_json(
            started_at="2026-11-23 21:01:00",  # naive, as json.dumps(default=str) writes UTC datetimes
            queries={"silver": query(17, rate=float("nan")), "gold": {"batch_id": "x"}, "alerts": 3},
            silver_offsets={"0": 1234, "1": 999, "x": 5, "2": "many"},
        )
    )
    assert status is not None
    assert status.pid == 123
    assert status.started_at == datetime(2026, 11, 23, 21, 1, tzinfo=UTC)
    assert set(status.queries) == {"silver"}, "entries without a batch id are left out"
    assert status.queries["silver"].rows_per_second is None, "NaN is no rate"
    assert status.silver_offsets == {0: 1234, 1: 999}


def test_lag_sums_every_partition_of_the_topic() -> None:
    ends = {0: 1500, 1: 1000, 2: 40}
    # 1500-1234 + 1000-999 + 40-0 (silver has not seen partition 2 yet)
    assert total_lag(ends, {0: 1234, 1: 999}) == 307
    assert total_lag(ends, {0: 1500, 1: 1000, 2: 40}) == 0
    assert total_lag({0: 10, 1: 5}, {0: 12, 1: 2}) == 3, "an offset past the end owes nothing"
    assert total_lag({}, {0: 12}) == 0


def test_the_status_line_shows_lag_and_silvers_last_batch() -> None:
    status = parse_status(status_json())
    assert status is not None
    assert describe(status, 1234) == "lag 1,234 records, last batch #17 at 21:04:58 UTC (850 rows/s)"
    assert describe(status, None) == "lag unknown (broker down), last batch #17 at 21:04:58 UTC (850 rows/s)"


def test_the_status_line_falls_back_to_bronze_then_to_no_batch() -> None:
    bronze_only = parse_status(
        status_json(queries={"bronze": query(3, timestamp="2026-11-23T22:00:01+01:00", rate=12345.6)})
    )
    assert bronze_only is not None
    assert describe(bronze_only, 0) == "lag 0 records, last batch #3 at 21:00:01 UTC (12,346 rows/s)"
    nothing = parse_status(status_json(queries={}))
    assert nothing is not None
    assert describe(nothing, 5) == "lag 5 records, no batch yet"


# A stand-in for `stockstream stream`: writes a status file like the job's, then waits for SIGTERM.
FAKE_JOB = """
import json, os, signal, sys
from datetime import UTC, datetime
now = datetime.now(UTC).isoformat()
silver = {"batch_id": 3, "input_rows": 10, "input_rows_per_second": 5.0, "processed_rows_per_second": 80.0,
          "duration_ms": 100, "timestamp": "2026-11-23T21:04:58+00:00", "watermark": None}
status = {"pid": os.getpid(), "state": "running", "started_at": now, "updated_at": now,
          "queries": {"silver": silver}, "silver_offsets": {"0": 7}}
with open(sys.argv[1] + ".tmp", "w") as handle:
    json.dump(status, handle)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
signal.pause()
"""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[StreamService]:
    """The service on an isolated data root (no broker on its port), running FAKE_JOB."""
    settings = isolated_settings(tmp_path, start_timeout=8)
    stream = StreamService(settings, job=[sys.executable, "-c", FAKE_JOB, str(settings.stream_status_file)])
    yield stream
    stream.stop()


def job_pid(service: StreamService) -> int | None:
    status = service.status()
    return status.pid if status is not None else None


def test_the_service_starts_restarts_a_killed_job_and_stops(service: StreamService) -> None:
    service.start()
    assert service.healthy()
    assert service.status_detail() == "lag unknown (broker down), last batch #3 at 21:04:58 UTC (80 rows/s)"
    assert "--- stream starting" in service.log_path.read_text()

    first = job_pid(service)
    assert first is not None
    psutil.Process(first).send_signal(signal.SIGKILL)
    # The supervisor waits 1 s before the restart: until then the status names a dead job.
    assert wait_until(lambda: not service.healthy(), timeout=0.9, interval=0.02)
    assert service.status_detail().startswith(f"job restarting (pid {first} is gone); lag unknown")
    assert wait_until(lambda: service.healthy() and job_pid(service) != first, timeout=8, interval=0.1)
    assert "stream failed with exit code -9 (SIGKILL)" in service.log_path.read_text()

    second = job_pid(service)
    supervisor = service.process.pid()
    assert second is not None and supervisor is not None
    assert service.stop() is True
    assert not psutil.pid_exists(second)
    assert not psutil.pid_exists(supervisor) or psutil.Process(supervisor).status() == psutil.STATUS_ZOMBIE
    assert not service.is_running() and not service.process.pid_path.exists()
    assert service.stop() is False, "stopping what is not running is fine"
    assert service.status_detail() == "not running"


def test_a_status_file_of_an_earlier_run_does_not_make_it_healthy(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, start_timeout=1)
    settings.stream_status_file.parent.mkdir(parents=True)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    settings.stream_status_file.write_text(status_json(started_at=an_hour_ago, updated_at=an_hour_ago))
    silent = StreamService(settings, job=[sys.executable, "-c", "import signal; signal.pause()"])
    try:
        with pytest.raises(StockstreamError, match="did not become healthy"):
            silent.start()
        assert silent.is_running()
        assert silent.unhealthy_reason() == NO_STATUS
        assert silent.status_detail() == NO_STATUS
    finally:
        silent.stop()


def test_up_can_leave_the_stream_out() -> None:
    result = CliRunner().invoke(app, ["up", "--help"])
    assert result.exit_code == 0
    assert "--no-stream" in result.output

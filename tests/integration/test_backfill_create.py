"""`airflow backfill create`, run as `stockstream backfill` runs it, against a real Airflow metadata
database on SQLite, while another connection commits every few milliseconds as the scheduler does.

Reprocessing finished days clears each day in a SAVEPOINT that reads before it writes. With
sqlite3's default connections, a commit landing in between makes that write fail at once with
"database is locked", leaving a half-made backfill (tests/unit/test_airflow_sqlite.py shows the
mechanism). With the connections of stockstream.orchestration.airflow_sqlite, the creation takes the
write lock first and is one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from stockstream.config import Settings
from stockstream.orchestration import backfill
from stockstream.orchestration.airflow_api import AirflowApi
from stockstream.services.airflow import AirflowService
from stockstream.services.process import wait_until
from tests.conftest import isolated_settings

pytestmark = pytest.mark.integration

DAYS = (date(2026, 11, 16), date(2026, 11, 20))  # a Monday to a Friday: five runs


class Scheduler(threading.Thread):
    """Commits a row every 2 ms into a table of its own, waiting for the write lock as long as the
    scheduler would; counts its commits."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stop = threading.Event()
        self.commits = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with sqlite3.connect(self.database, timeout=60) as connection:
                connection.execute("CREATE TABLE IF NOT EXISTS test_heartbeat (n INTEGER)")
                while not self.stop.wait(0.002):
                    connection.execute("INSERT INTO test_heartbeat VALUES (?)", (self.commits,))
                    connection.commit()
                    self.commits += 1
        except BaseException as error:
            self.error = error


def create(settings: Settings, reprocess: str) -> subprocess.CompletedProcess[str]:
    body = AirflowApi.backfill_body(
        backfill.MARKET_DAY, *DAYS, conf={"source": "offline"}, reprocess=reprocess, max_active_runs=1
    )
    argv, env = backfill.creation(settings, body)
    return subprocess.run(
        argv, env=env, cwd=settings.airflow_home, capture_output=True, text=True, timeout=300, check=False
    )


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database, timeout=60) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def finished_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """An Airflow database holding market_day and five runs that ended, as after a backfill."""
    settings = isolated_settings(tmp_path_factory.mktemp("backfill-create"))
    service = AirflowService(settings)
    service.migrate()
    reserialize = subprocess.run(
        [str(settings.venv_bin / "airflow"), "dags", "reserialize"],
        env={**os.environ, **service.env},
        cwd=settings.airflow_home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert reserialize.returncode == 0, reserialize.stderr[-2000:]
    first = create(settings, "none")
    assert first.returncode == 0, first.stderr[-2000:]
    database = settings.airflow_home / "airflow.db"
    with sqlite3.connect(database) as connection:  # what the scheduler does when the runs end
        connection.execute("UPDATE task_instance SET state = 'success'")
        connection.execute("UPDATE dag_run SET state = 'success'")
        connection.execute("UPDATE backfill SET completed_at = CURRENT_TIMESTAMP")
    yield settings


def test_reprocessing_finished_days_beside_a_busy_scheduler_creates_the_whole_backfill(
    finished_days: Settings,
) -> None:
    database = finished_days.airflow_home / "airflow.db"
    assert query(database, "SELECT state, COUNT(*) FROM dag_run GROUP BY state") == [("success", 5)]
    scheduler = Scheduler(database)
    scheduler.start()
    try:
        assert wait_until(lambda: scheduler.commits > 0, timeout=30, interval=0.1)
        before = scheduler.commits
        again = create(finished_days, "completed")
        during = scheduler.commits - before
    finally:
        scheduler.stop.set()
        scheduler.join(timeout=120)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert scheduler.error is None, scheduler.error
    assert during > 0, "the other connection kept committing while the backfill was created"
    # One new backfill holds all five runs, queued again, every task instance cleared.
    newest = query(database, "SELECT MAX(id) FROM backfill")[0][0]
    assert query(database, "SELECT id FROM backfill WHERE completed_at IS NULL") == [(newest,)]
    assert query(database, "SELECT backfill_id, state, COUNT(*) FROM dag_run GROUP BY 1, 2") == [
        (newest, "queued", 5)
    ]
    made = f"SELECT COUNT(*) FROM backfill_dag_run WHERE backfill_id = {newest} AND dag_run_id IS NOT NULL"
    assert query(database, made) == [(5,)]
    assert query(database, "SELECT COUNT(*) FROM task_instance WHERE state = 'success'") == [(0,)]

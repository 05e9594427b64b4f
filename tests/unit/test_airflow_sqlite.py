"""The SQLite connections of `airflow backfill create`: what goes wrong with sqlite3's defaults when
another connection commits between a SAVEPOINT's read and its write (Airflow's backfill creation,
one SAVEPOINT per day), and that CONNECT_ARGS makes the same work one transaction that waits for
the write lock. The real Airflow CLI under the same race: tests/integration/test_backfill_create.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from stockstream.orchestration import airflow_sqlite

pytestmark = pytest.mark.unit


def day_by_day(database: Path, connect_args: dict[str, Any], other: sqlite3.Connection) -> list[int]:
    """Airflow's pattern: a commit, then per day a SAVEPOINT that reads, then writes; `other`
    commits between day 2's read and its write. Returns what `other` saw after each day."""
    engine = create_engine(f"sqlite:///{database}", connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def wal(connection: sqlite3.Connection, _record: object) -> None:  # as Airflow sets it
        connection.cursor().execute("PRAGMA journal_mode=WAL").close()

    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE runs (day INTEGER, state TEXT)")
        connection.exec_driver_sql("CREATE TABLE beats (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO runs VALUES (1, 'success'), (2, 'success')")
    seen = []
    with Session(engine) as session:
        session.execute(text("INSERT INTO beats VALUES (0)"))
        session.commit()
        for day in (1, 2):
            with session.begin_nested():
                session.execute(text("SELECT state FROM runs WHERE day = :day"), {"day": day}).all()
                if day == 2:
                    try:
                        other.execute("INSERT INTO beats VALUES (1)")
                        other.commit()
                    except sqlite3.OperationalError:
                        other.rollback()  # it waits for the lock, as the scheduler would
                session.execute(text("UPDATE runs SET state = 'queued' WHERE day = :day"), {"day": day})
            seen.append(other.execute("SELECT COUNT(*) FROM runs WHERE state = 'queued'").fetchone()[0])
        session.commit()
    engine.dispose()
    return seen


def test_sqlite3_defaults_commit_each_day_alone_and_refuse_the_second(tmp_path: Path) -> None:
    database = tmp_path / "airflow.db"
    with sqlite3.connect(database, timeout=0.2) as other:
        with pytest.raises(Exception, match="database is locked"):
            day_by_day(database, {"timeout": 5}, other)
        # Day 1 was committed on its own by its SAVEPOINT's RELEASE, day 2 refused at once.
        assert other.execute("SELECT day FROM runs WHERE state = 'queued'").fetchall() == [(1,)]


def test_the_connect_args_make_the_days_one_transaction_that_holds_the_write_lock(tmp_path: Path) -> None:
    database = tmp_path / "airflow.db"
    with sqlite3.connect(database, timeout=0.2) as other:
        seen = day_by_day(database, dict(airflow_sqlite.CONNECT_ARGS), other)
        assert seen == [0, 0], "nothing is visible before the one commit at the end"
        assert other.execute("SELECT COUNT(*) FROM runs WHERE state = 'queued'").fetchone() == (2,)
        # The other connection's write did not get in while the lock was held.
        assert other.execute("SELECT n FROM beats").fetchall() == [(0,)]


def test_a_savepoint_inside_a_transaction_begins_nothing_more(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "db", factory=airflow_sqlite.ImmediateConnection)
    cursor = connection.cursor()
    assert isinstance(cursor, airflow_sqlite.ImmediateCursor)
    cursor.execute("CREATE TABLE t (x INTEGER)")
    cursor.execute("SAVEPOINT a")
    assert connection.in_transaction
    cursor.execute("SAVEPOINT b")  # a second BEGIN would raise "cannot start a transaction within"
    cursor.execute("INSERT INTO t VALUES (1)")
    cursor.execute("RELEASE SAVEPOINT b")
    cursor.execute("RELEASE SAVEPOINT a")
    assert connection.in_transaction, "RELEASE of the outer savepoint leaves the BEGIN open"
    connection.commit()
    assert not connection.in_transaction
    connection.close()


SQLITE_ARGS = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": airflow_sqlite.IMPORT_PATH}


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        (None, SQLITE_ARGS),  # Airflow's default
        ("sqlite:////srv/airflow/airflow.db", SQLITE_ARGS),
        ("postgresql+psycopg2://airflow@postgres:5432/airflow", {}),  # docker-compose.yml
    ],
)
def test_only_a_sqlite_metadata_database_gets_the_connect_args(
    database: str | None, expected: dict[str, str]
) -> None:
    environ = {} if database is None else {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database}
    assert airflow_sqlite.backfill_env(environ) == expected


def test_the_import_path_names_the_connect_args() -> None:
    module, _, name = airflow_sqlite.IMPORT_PATH.rpartition(".")
    assert getattr(__import__(module, fromlist=[name]), name) is airflow_sqlite.CONNECT_ARGS
